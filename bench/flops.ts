/**
 * FLOPs of an ONNX model from its graph and a concrete input shape: shapes are propagated
 * node by node, and every Conv / ConvTranspose (and QLinearConv) is charged its
 * multiply-accumulates:
 *
 * - Conv: N · H_out · W_out · (C_out · C_in/group · k_h · k_w) = N · H_out · W_out · |W|
 * - ConvTranspose: N · H_in · W_in · (C_in · C_out/group · k_h · k_w) = N · H_in · W_in · |W|
 *
 * FLOPs = 2 × MACs (one multiply and one add each). Bias adds, activations, pooling and
 * concatenation are not counted (they are < 1 % here and the paper counts convolutions);
 * this is the same convention as `tools/distill/nets.py` `flops_at`.
 *
 * Alongside, a per-layer memory estimate: each conv reads its input and weights and writes
 * its output once (fp32), ignoring reuse across layers through the caches. FLOPs divided by
 * those bytes is the arithmetic intensity used to explain how far from peak a net runs.
 *
 * @module
 */
import { Attributes } from "../src/onnx/attributes.ts";
import { decodeModel, type onnx, toNumber } from "../src/onnx/proto.ts";
import { readTensor } from "../src/onnx/tensor_data.ts";

/** One convolution's cost. */
export interface ConvCost {
  node: string;
  op: string;
  input: number[];
  weight: number[];
  output: number[];
  macs: number;
  /** fp32 bytes of input + weights + output */
  bytes: number;
}

/** FLOPs of a model at one input shape. */
export interface FlopCount {
  macs: number;
  /** 2 × macs */
  flops: number;
  convs: number;
  /** MACs per operator type */
  macs_by_op: Record<string, number>;
  /** Σ bytes over convs (see module doc) */
  conv_bytes: number;
  /** flops / conv_bytes */
  intensity_flop_per_byte: number;
  /** largest activation tensor (elements) */
  largest_activation: number;
  nodes: number;
  layers: ConvCost[];
}

/** An INTS attribute, or undefined when absent or empty (the operator's default applies). */
function ints(node: onnx.INodeProto, name: string): number[] | undefined {
  const v = new Attributes(node).ints(name, []);
  return v.length ? v : undefined;
}
const int = (node: onnx.INodeProto, name: string, fallback: number) =>
  new Attributes(node).int(name, fallback);
const str = (node: onnx.INodeProto, name: string, fallback: string) =>
  new Attributes(node).string(name, fallback);

/** Numbers stored in a (small) constant tensor; none when they cannot be read here. */
function tensorValues(t: onnx.ITensorProto): number[] {
  try {
    return [...readTensor(t).data];
  } catch {
    return []; // external or an unusual element type: the shape stays unknown
  }
}

function broadcast(shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

const SAME_SHAPE = new Set([
  "Relu",
  "LeakyRelu",
  "Sigmoid",
  "Tanh",
  "Clip",
  "Identity",
  "BatchNormalization",
  "QuantizeLinear",
  "DequantizeLinear",
  "Dropout",
  "Cast",
  "Elu",
  "Selu",
  "HardSigmoid",
  "HardSwish",
  "Softmax",
  "Erf",
  "Exp",
  "Sqrt",
  "Neg",
  "Abs",
  "InstanceNormalization",
  "LRN",
  "Softplus",
  "Mish",
  "Gelu",
  "PRelu",
]);
const BROADCAST = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "Max",
  "Min",
  "Sum",
  "Mean",
  "Where",
  "Equal",
  "Greater",
  "Less",
]);

function spatialOut(
  input: number[],
  k: number[],
  strides: number[],
  dil: number[],
  pads: number[],
  autoPad: string,
  ceil: boolean,
): number[] {
  const r = k.length;
  return input.map((x, i) => {
    const eff = (k[i] - 1) * dil[i] + 1;
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") return Math.ceil(x / strides[i]);
    const total = autoPad === "VALID" ? 0 : pads[i] + pads[i + r];
    const v = (x + total - eff) / strides[i];
    return (ceil ? Math.ceil(v) : Math.floor(v)) + 1;
  });
}

/**
 * Counts MACs/FLOPs of `bytes` for concrete input shapes.
 * @param inputs graph input name → shape (e.g. `{ image: [1, 3, 256, 256] }`)
 * @throws {Error} naming the operator when a node has no shape rule or a shape is missing
 */
export function countFlops(bytes: Uint8Array, inputs: Record<string, number[]>): FlopCount {
  const graph = decodeModel(bytes).graph!;
  const shapes = new Map<string, number[]>();
  const values = new Map<string, number[]>();
  for (const t of graph.initializer ?? []) {
    shapes.set(t.name!, (t.dims ?? []).map((d) => toNumber(d)));
    if ((t.dims ?? []).length <= 1) values.set(t.name!, tensorValues(t));
  }
  for (const [name, shape] of Object.entries(inputs)) shapes.set(name, shape);
  for (const v of graph.input ?? []) {
    if (!shapes.has(v.name!)) throw new Error(`flops: no shape given for graph input "${v.name}"`);
  }
  const layers: ConvCost[] = [];
  const macsByOp: Record<string, number> = {};
  let largest = 0;
  const shapeOf = (name: string | undefined | null, node: onnx.INodeProto): number[] => {
    const s = name ? shapes.get(name) : undefined;
    if (!s) {
      throw new Error(`flops: no shape for "${name}" (input of ${node.opType} ${node.name ?? ""})`);
    }
    return s;
  };
  for (const node of graph.node ?? []) {
    const op = node.opType ?? "";
    const ins = node.input ?? [];
    let out: number[];
    if (op === "Conv" || op === "ConvTranspose" || op === "QLinearConv") {
      const x = shapeOf(ins[0], node);
      const w = shapeOf(op === "QLinearConv" ? ins[3] : ins[1], node);
      const group = int(node, "group", 1);
      const k = ints(node, "kernel_shape") ?? w.slice(2);
      const r = k.length;
      const strides = ints(node, "strides") ?? k.map(() => 1);
      const dil = ints(node, "dilations") ?? k.map(() => 1);
      const pads = ints(node, "pads") ?? new Array(2 * r).fill(0);
      const autoPad = str(node, "auto_pad", "NOTSET");
      const inSpatial = x.slice(2);
      const wSize = w.reduce((a, b) => a * b, 1);
      let macs: number;
      if (op === "ConvTranspose") {
        const outPad = ints(node, "output_padding") ?? k.map(() => 0);
        const outShape = ints(node, "output_shape");
        const spatial = outShape ??
          inSpatial.map((v, i) =>
            autoPad.startsWith("SAME")
              ? v * strides[i]
              : strides[i] * (v - 1) + outPad[i] + (k[i] - 1) * dil[i] + 1 - pads[i] - pads[i + r]
          );
        out = [x[0], w[1] * group, ...spatial];
        macs = x[0] * inSpatial.reduce((a, b) => a * b, 1) * wSize;
      } else {
        const spatial = spatialOut(inSpatial, k, strides, dil, pads, autoPad, false);
        out = [x[0], w[0], ...spatial];
        macs = x[0] * spatial.reduce((a, b) => a * b, 1) * wSize;
      }
      const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
      layers.push({
        node: node.name ?? `${op}_${layers.length}`,
        op,
        input: x,
        weight: w,
        output: out,
        macs,
        bytes: 4 * (numel(x) + wSize + numel(out)),
      });
      macsByOp[op] = (macsByOp[op] ?? 0) + macs;
    } else if (op === "MaxPool" || op === "AveragePool") {
      const x = shapeOf(ins[0], node);
      const k = ints(node, "kernel_shape")!;
      const r = k.length;
      out = [
        x[0],
        x[1],
        ...spatialOut(
          x.slice(2),
          k,
          ints(node, "strides") ?? k.map(() => 1),
          ints(node, "dilations") ?? k.map(() => 1),
          ints(node, "pads") ?? new Array(2 * r).fill(0),
          str(node, "auto_pad", "NOTSET"),
          int(node, "ceil_mode", 0) === 1,
        ),
      ];
    } else if (op === "GlobalAveragePool" || op === "GlobalMaxPool") {
      const x = shapeOf(ins[0], node);
      out = [x[0], x[1], ...x.slice(2).map(() => 1)];
    } else if (SAME_SHAPE.has(op)) {
      out = shapeOf(ins[0], node);
    } else if (BROADCAST.has(op)) {
      out = broadcast(ins.filter(Boolean).map((n) => shapeOf(n, node)));
    } else if (op === "Concat") {
      const parts = ins.map((n) => shapeOf(n, node));
      const rank = parts[0].length;
      const axis = (int(node, "axis", 1) + rank) % rank;
      out = [...parts[0]];
      out[axis] = parts.reduce((a, s) => a + s[axis], 0);
    } else if (op === "Resize" || op === "Upsample") {
      const x = shapeOf(ins[0], node);
      const sizes = op === "Resize" ? values.get(ins[3] ?? "") : undefined;
      const scales = values.get(op === "Resize" ? ins[2] ?? "" : ins[1] ?? "");
      if (sizes?.length === x.length) out = sizes;
      else if (scales?.length === x.length) out = x.map((v, i) => Math.floor(v * scales[i]));
      else throw new Error(`flops: ${op} ${node.name ?? ""} has no constant scales or sizes`);
    } else if (op === "Constant") {
      const t = new Attributes(node).tensor("value");
      out = t ? (t.dims ?? []).map((d) => toNumber(d)) : [];
      if (t && out.length <= 1) values.set(node.output![0], tensorValues(t));
    } else {
      throw new Error(`flops: no shape rule for operator ${op} (node ${node.name ?? "?"})`);
    }
    for (const o of node.output ?? []) if (o) shapes.set(o, out);
    largest = Math.max(largest, out.reduce((a, b) => a * b, 1));
  }
  const macs = layers.reduce((a, l) => a + l.macs, 0);
  const convBytes = layers.reduce((a, l) => a + l.bytes, 0);
  return {
    macs,
    flops: 2 * macs,
    convs: layers.length,
    macs_by_op: macsByOp,
    conv_bytes: convBytes,
    intensity_flop_per_byte: convBytes ? Math.round((2 * macs / convBytes) * 100) / 100 : 0,
    largest_activation: largest,
    nodes: (graph.node ?? []).length,
    layers,
  };
}
