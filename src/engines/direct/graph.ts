/**
 * An ONNX model → the direct engine's graph: the operators `kernels.c` runs, their weights
 * packed the way its kernels read them, and ReLUs fused into the convolution before them. A
 * model with anything else (another operator, a stride, padding or group the kernels do not
 * have, quantised weights) is refused with the reason, and onnxruntime runs it instead.
 *
 * Supported: one float input [N, C, H, W] and one output; Conv 3×3 (padding 1) and 1×1
 * (padding 0), stride 1, group 1; ConvTranspose 2×2 stride 2; MaxPool 2×2 stride 2; Relu;
 * Sigmoid; Concat on channels of values made inside the graph (each placed once);
 * BatchNormalization right after a convolution that nothing else reads (folded into it).
 *
 * @module
 */
import { Attributes, describeNode } from "../../onnx/attributes.ts";
import { decodeModel, type onnx } from "../../onnx/proto.ts";
import { type ExternalData, readTensor } from "../../onnx/tensor_data.ts";

/**
 * The widest convolution (input or output channels) the direct engine takes: up to here its
 * kernels beat onnxruntime's (narrow layers: 2.5-4×); a wide net (the U-Net-64 teacher: 560-616
 * ms against 502 on one thread, and onnxruntime can use two) is onnxruntime's.
 */
export const MAX_CHANNELS = 64;

/** Output channels of packed 3×3 weights are padded to this (the widest kernel step). */
export const COUT_BLOCK = 16;

/** One operator of the direct graph. */
export type DirectOp =
  | {
    kind: "conv3" | "conv1" | "convt2";
    input: string;
    output: string;
    cin: number;
    cout: number;
    weights: number;
    bias: number;
    relu: boolean;
  }
  | { kind: "maxpool2" | "relu" | "sigmoid"; input: string; output: string }
  | { kind: "concat"; inputs: string[]; output: string };

/** A model the direct engine can run. */
export interface DirectGraph {
  inputName: string;
  outputName: string;
  /** the value the output names (an Identity's output is its input's value) */
  outputValue: string;
  /** channels of the input */
  inputChannels: number;
  ops: DirectOp[];
  /** every op's packed weights and biases, one array (ops hold offsets into it) */
  weights: Float32Array;
}

/** Why a model cannot run on the direct engine. */
export class UnsupportedGraphError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "UnsupportedGraphError";
  }
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Reads a model into a direct graph.
 * @throws {UnsupportedGraphError} naming what the kernels do not have
 * @throws {Error} when the bytes are not an ONNX model
 */
export function directGraph(bytes: Uint8Array, external: ExternalData = new Map()): DirectGraph {
  const graph = decodeModel(bytes).graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? ""));
  if (inputs.length !== 1 || (graph.output ?? []).length !== 1) {
    throw new UnsupportedGraphError("the direct engine runs models of one input and one output");
  }
  const input = inputs[0];
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  const channels = Number(dims[1]?.dimValue ?? 0);
  if (input.type?.tensorType?.elemType !== 1 || dims.length !== 4 || !(channels > 0)) {
    throw new UnsupportedGraphError("the input is not float32 [N, C, H, W] with a fixed C");
  }
  const chunks: Float32Array[] = [];
  let length = 0;
  const chunkStarts = new Map<number, Float32Array>();
  const append = (data: Float32Array): number => {
    const at = length;
    chunks.push(data);
    chunkStarts.set(at, data);
    length += data.length;
    return at;
  };
  const chunkAt = (offset: number) => chunkStarts.get(offset)!;
  // Identity and inference-time Dropout outputs: other names of their inputs
  // (PyTorch's exporter passes shared weights through Identity nodes too)
  const alias = new Map<string, string>();
  const resolve = (name: string) => alias.get(name) ?? name;
  const isAlias = (node: onnx.INodeProto) =>
    (node.opType === "Identity" || node.opType === "Dropout") && node.output?.length === 1;
  for (const node of graph.node ?? []) {
    if (isAlias(node)) alias.set(node.output![0], resolve(node.input?.[0] ?? ""));
  }
  const constant = (node: onnx.INodeProto, name: string | undefined, expected: number[]) => {
    const t = name ? initializers.get(resolve(name)) : undefined;
    if (!t) {
      throw new UnsupportedGraphError(
        `${describeNode(node)}: ${name ?? "an input"} is not a constant`,
      );
    }
    let read: ReturnType<typeof readTensor>;
    try {
      read = readTensor(t, external);
    } catch (err) {
      // e.g. float16 statistics: onnxruntime may still run the model
      throw new UnsupportedGraphError(`${describeNode(node)}: ${(err as Error).message}`);
    }
    if (read.dataType !== 1) {
      throw new UnsupportedGraphError(`${describeNode(node)}: weights are not float32`);
    }
    if (!same(read.dims, expected)) {
      throw new UnsupportedGraphError(
        `${describeNode(node)}: weights [${read.dims}] are not [${expected}]`,
      );
    }
    return read.data;
  };
  const channelsOf = new Map<string, number>([[input.name ?? "", channels]]);
  // readers of each value, by the value's own name (an alias's readers are its input's)
  const readers = new Map<string, number>();
  for (const node of graph.node ?? []) {
    if (isAlias(node)) continue;
    for (const name of (node.input ?? []).map(resolve)) {
      readers.set(name, (readers.get(name) ?? 0) + 1);
    }
  }
  const outputValue = resolve(graph.output![0].name ?? "");
  const producer = new Map<string, DirectOp>();
  const ops: DirectOp[] = [];
  const concatenated = new Set<string>();
  for (const node of graph.node ?? []) {
    const at = new Attributes(node);
    const inName = resolve(node.input?.[0] ?? "");
    const outName = node.output?.[0] ?? "";
    if (isAlias(node)) continue;
    const cin = channelsOf.get(inName);
    if (cin === undefined && node.opType !== "Concat") {
      throw new UnsupportedGraphError(
        `${describeNode(node)} reads ${inName}, which the direct engine does not make`,
      );
    }
    if ((node.output ?? []).length !== 1) {
      throw new UnsupportedGraphError(`${describeNode(node)}: more than one output`);
    }
    switch (node.opType) {
      case "Conv":
      case "ConvTranspose": {
        const transposed = node.opType === "ConvTranspose";
        const w = node.input?.[1] ? initializers.get(resolve(node.input[1])) : undefined;
        const k = at.ints("kernel_shape", w?.dims?.slice(2).map(Number) ?? []);
        const plain = at.int("group", 1) === 1 && same(at.ints("dilations", [1, 1]), [1, 1]) &&
          at.string("auto_pad", "NOTSET") === "NOTSET";
        const kind = transposed
          ? (same(k, [2, 2]) && same(at.ints("strides", [1, 1]), [2, 2]) &&
            same(at.ints("pads", [0, 0, 0, 0]), [0, 0, 0, 0]) &&
            same(at.ints("output_padding", [0, 0]), [0, 0]) && !at.has("output_shape") && "convt2")
          : same(at.ints("strides", [1, 1]), [1, 1]) &&
            (same(k, [3, 3]) && same(at.ints("pads", [0, 0, 0, 0]), [1, 1, 1, 1])
              ? "conv3"
              : same(k, [1, 1]) && same(at.ints("pads", [0, 0, 0, 0]), [0, 0, 0, 0]) && "conv1");
        if (!plain || !kind) {
          throw new UnsupportedGraphError(
            `${
              describeNode(node)
            }: only 3×3/1×1 stride-1 convolutions and 2×2 stride-2 transposed ones`,
          );
        }
        const cout = Number(transposed ? w?.dims?.[1] : w?.dims?.[0]);
        const shape = transposed ? [cin!, cout, 2, 2] : [cout, cin!, k[0], k[1]];
        const raw = constant(node, node.input?.[1], shape);
        const bias = node.input?.[2]
          ? constant(node, node.input[2], [cout])
          : new Float32Array(cout);
        const padded = Math.ceil(cout / COUT_BLOCK) * COUT_BLOCK;
        ops.push({
          kind,
          input: inName,
          output: outName,
          cin: cin!,
          cout,
          weights: append(
            padRows(kind === "convt2" ? transposeKernel(raw, cin!, cout) : raw, cout, padded),
          ),
          bias: append(padRows(bias, cout, padded)),
          relu: false,
        });
        channelsOf.set(outName, cout);
        break;
      }
      case "MaxPool": {
        const ok = same(at.ints("kernel_shape", []), [2, 2]) &&
          same(at.ints("strides", [1, 1]), [2, 2]) &&
          same(at.ints("pads", [0, 0, 0, 0]), [0, 0, 0, 0]) && at.int("ceil_mode", 0) === 0 &&
          same(at.ints("dilations", [1, 1]), [1, 1]) &&
          at.string("auto_pad", "NOTSET") === "NOTSET";
        if (!ok) {
          throw new UnsupportedGraphError(`${describeNode(node)}: only 2×2 stride-2 max pooling`);
        }
        ops.push({ kind: "maxpool2", input: inName, output: outName });
        channelsOf.set(outName, cin!);
        break;
      }
      case "BatchNormalization": {
        const conv = producer.get(inName);
        if (
          !conv || (conv.kind !== "conv3" && conv.kind !== "conv1" && conv.kind !== "convt2") ||
          readers.get(inName) !== 1 || inName === outputValue || at.int("training_mode", 0) !== 0
        ) {
          throw new UnsupportedGraphError(
            `${describeNode(node)}: only right after a convolution nothing else reads`,
          );
        }
        const [scale, b, mean, variance] = [1, 2, 3, 4].map((i) =>
          constant(node, node.input?.[i], [conv.cout])
        );
        const epsilon = at.float("epsilon", 1e-5);
        const w = chunkAt(conv.weights);
        const bias = chunkAt(conv.bias);
        const row = w.length / (Math.ceil(conv.cout / COUT_BLOCK) * COUT_BLOCK);
        for (let c = 0; c < conv.cout; c++) {
          const s = scale[c] / Math.sqrt(variance[c] + epsilon);
          for (let i = 0; i < row; i++) w[c * row + i] *= s;
          bias[c] = (bias[c] - mean[c]) * s + b[c];
        }
        conv.output = outName;
        channelsOf.set(outName, conv.cout);
        break;
      }
      case "Relu":
      case "Sigmoid":
        ops.push({
          kind: node.opType === "Relu" ? "relu" : "sigmoid",
          input: inName,
          output: outName,
        });
        channelsOf.set(outName, cin!);
        break;
      case "Concat": {
        const axis = at.int("axis", 1);
        const parts = ((node.input ?? []) as string[]).map(resolve);
        if (axis !== 1 && axis !== -3) {
          throw new UnsupportedGraphError(`${describeNode(node)}: only on channels`);
        }
        const missing = parts.find((p) => !channelsOf.has(p));
        if (missing !== undefined) {
          throw new UnsupportedGraphError(
            `${describeNode(node)} reads ${missing}, not made by the graph`,
          );
        }
        // each part is made in place inside the concatenation (no copy), so it can be in one only
        const twice = parts.find((p, i) => concatenated.has(p) || parts.indexOf(p) !== i);
        if (twice !== undefined) {
          throw new UnsupportedGraphError(`${describeNode(node)}: ${twice} is concatenated twice`);
        }
        for (const p of parts) concatenated.add(p);
        ops.push({ kind: "concat", inputs: parts, output: outName });
        channelsOf.set(outName, parts.reduce((s, p) => s + channelsOf.get(p)!, 0));
        break;
      }
      default:
        throw new UnsupportedGraphError(
          `${describeNode(node)}: the direct engine has no ${node.opType}`,
        );
    }
    const last = ops.at(-1);
    if (last?.output === outName) producer.set(outName, last);
  }
  const outputName = graph.output![0].name ?? "";
  if (!channelsOf.has(outputValue)) {
    throw new UnsupportedGraphError(`the output ${outputName} is not made by the graph`);
  }
  const widest = Math.max(0, ...ops.map((op) => "cout" in op ? Math.max(op.cin, op.cout) : 0));
  if (widest > MAX_CHANNELS) {
    throw new UnsupportedGraphError(
      `its widest convolution has ${widest} channels: past ${MAX_CHANNELS}, onnxruntime's kernels are as fast and use more threads`,
    );
  }
  const fused = fuseRelus(ops, outputValue);
  const weights = new Float32Array(length);
  let offset = 0;
  for (const c of chunks) {
    weights.set(c, offset);
    offset += c.length;
  }
  return {
    inputName: input.name ?? "",
    outputName,
    outputValue,
    inputChannels: channels,
    ops: fused,
    weights,
  };
}

/** Rows of a [rows][...] array, zero rows appended up to `padded`. */
function padRows(data: Float32Array, rows: number, padded: number): Float32Array {
  const out = new Float32Array((data.length / rows) * padded);
  out.set(data);
  return out;
}

/** ConvTranspose weights [cin][cout][2][2] → [cout][2][2][cin] (what `convt2` reads). */
function transposeKernel(w: Float32Array, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let ci = 0; ci < cin; ci++) {
    for (let co = 0; co < cout; co++) {
      for (let k = 0; k < 4; k++) out[(co * 4 + k) * cin + ci] = w[(ci * cout + co) * 4 + k];
    }
  }
  return out;
}

/** A Relu whose input is a convolution's output read by nothing else becomes that convolution's. */
function fuseRelus(ops: DirectOp[], outputName: string): DirectOp[] {
  const readers = new Map<string, number>();
  for (const op of ops) {
    for (const name of op.kind === "concat" ? op.inputs : [op.input]) {
      readers.set(name, (readers.get(name) ?? 0) + 1);
    }
  }
  const producer = new Map<string, DirectOp>();
  const kept: DirectOp[] = [];
  for (const op of ops) {
    const before = op.kind === "relu" ? producer.get(op.input) : undefined;
    if (
      op.kind === "relu" && before &&
      (before.kind === "conv3" || before.kind === "conv1" || before.kind === "convt2") &&
      !before.relu && readers.get(op.input) === 1 && op.input !== outputName
    ) {
      before.relu = true;
      before.output = op.output;
      producer.set(op.output, before);
      continue;
    }
    kept.push(op);
    producer.set(op.output, op);
  }
  return kept;
}
