/**
 * The receptive field of a fully convolutional image model, read from its graph: for every
 * output pixel, the span of input pixels that can change it, and the largest downsampling
 * step inside the net. That is what overlap-tile inference (`src/engines/tiles.ts`, the
 * U-Net paper's "overlap-tile strategy") needs to cut a large image into tiles whose
 * centres come out exactly as from one run over the whole image.
 *
 * Each tensor carries, along each spatial axis, its step `s` (input pixels per element)
 * and the range `[lo, hi]` of input offsets, relative to an element's own position
 * `i·s`, that it depends on (zero padding included). A convolution or pooling with kernel
 * `k`, dilation `d`, stride `t` and leading pad `p` maps `[lo, hi]` to `[lo − p·s, hi + ((k−1)·d − p)·s]`
 * (see {@link step}); a transposed convolution divides the step; element-wise ops and
 * channel concatenation take the widest range of their spatial inputs. Any other op that
 * touches space (Resize, Reshape, global pooling, MatMul, …) makes the answer `null`:
 * such a model is never tiled. No library does this for ONNX graphs (onnx's shape
 * inference gives sizes, not dependencies), hence the hand-written walk.
 *
 * @module
 */
import { Attributes } from "./attributes.ts";
import { type onnx, toNumber } from "./proto.ts";

/** How far an output pixel sees. */
export interface ReceptiveField {
  /** input pixels on each side of an output pixel that can change it (the larger axis) */
  radius: number;
  /** the largest step inside the net: tiles start and end on multiples of it */
  align: number;
}

/** Per spatial tensor: step and dependency range, in input pixels (one entry per axis). */
interface Span {
  step: number[];
  lo: number[];
  hi: number[];
}

/** Ops that map each element to itself (per pixel), whatever their channel arithmetic. */
const POINTWISE = new Set([
  "Relu",
  "LeakyRelu",
  "PRelu",
  "Sigmoid",
  "Tanh",
  "Clip",
  "Elu",
  "Selu",
  "HardSigmoid",
  "HardSwish",
  "Softplus",
  "Identity",
  "BatchNormalization",
  "InstanceNormalization",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Concat",
  "QuantizeLinear",
  "DequantizeLinear",
  "Cast",
  "Dropout",
]);

/** Convolution-like ops: [index of the weight input, whether it is transposed]. */
const WINDOWED: Record<string, { weight?: number; transposed: boolean }> = {
  Conv: { weight: 1, transposed: false },
  ConvInteger: { weight: 1, transposed: false },
  QLinearConv: { weight: 3, transposed: false },
  ConvTranspose: { weight: 1, transposed: true },
  MaxPool: { transposed: false },
  AveragePool: { transposed: false },
};

/** A window's geometry along each spatial axis. */
function windowOf(
  node: onnx.INodeProto,
  axes: number,
  weightDims: number[] | undefined,
): { k: number[]; d: number[]; t: number[]; p: number[] } | null {
  const a = new Attributes(node);
  const k = a.ints("kernel_shape", weightDims ? weightDims.slice(2) : []);
  if (k.length !== axes) return null;
  if (a.has("auto_pad") && !["NOTSET", "VALID"].includes(a.string("auto_pad", "NOTSET"))) {
    return null; // SAME_* pads depend on sizes; none of the shipped or exported nets use them
  }
  const d = a.ints("dilations", k.map(() => 1));
  const t = a.ints("strides", k.map(() => 1));
  const p = a.ints("pads", [...k.map(() => 0), ...k.map(() => 0)]).slice(0, axes);
  return { k, d, t, p };
}

/** One windowed op's effect on a span (exact for integer steps; see the module doc). */
function step(
  span: Span,
  w: { k: number[]; d: number[]; t: number[]; p: number[] },
  transposed: boolean,
): Span {
  const out: Span = { step: [], lo: [], hi: [] };
  span.step.forEach((s, i) => {
    const { k, d, t, p } = { k: w.k[i], d: w.d[i], t: w.t[i], p: w.p[i] };
    if (!transposed) {
      // output j reads input j·t − p + u·d, u = 0…k−1
      out.step.push(s * t);
      out.lo.push(span.lo[i] - p * s);
      out.hi.push(span.hi[i] + ((k - 1) * d - p) * s);
    } else {
      // output o gathers inputs i with i·t = o + p − u·d, u = 0…k−1
      const so = s / t;
      out.step.push(so);
      out.lo.push(span.lo[i] + (p - (k - 1) * d) * so);
      out.hi.push(span.hi[i] + p * so);
    }
  });
  return out;
}

/**
 * The receptive field of a model with one 4-D image input (NCHW) and outputs at the input's
 * resolution, or null when the graph has an op this walk does not follow.
 */
export function receptiveField(model: onnx.IModelProto): ReceptiveField | null {
  const graph = model.graph;
  if (!graph) return null;
  const staticDims = new Map<string, number[]>();
  for (const t of graph.initializer ?? []) {
    staticDims.set(t.name ?? "", (t.dims ?? []).map((d) => toNumber(d)));
  }
  const inputs = (graph.input ?? []).filter((v) => !staticDims.has(v.name ?? ""));
  if (inputs.length !== 1) return null;
  const rank = inputs[0].type?.tensorType?.shape?.dim?.length ?? 0;
  if (rank !== 4) return null;
  const spans = new Map<string, Span>([[inputs[0].name ?? "", {
    step: [1, 1],
    lo: [0, 0],
    hi: [0, 0],
  }]]);
  let align = 1;
  for (const node of graph.node ?? []) {
    const op = node.opType ?? "";
    const ins = (node.input ?? []).filter((n) => n !== "");
    const spatial = ins.map((n) => spans.get(n)).filter((s): s is Span => s !== undefined);
    if (spatial.length === 0) {
      // constants folded at run time (DequantizeLinear of a weight): still static
      if (op === "DequantizeLinear" || op === "Identity" || op === "Cast") {
        const dims = staticDims.get(ins[0]);
        if (dims) { for (const o of node.output ?? []) staticDims.set(o, dims); }
      }
      continue;
    }
    let out: Span;
    const windowed = WINDOWED[op];
    if (windowed) {
      if (spatial.length !== 1 || spans.get(ins[0]) !== spatial[0]) return null;
      const weightDims = windowed.weight !== undefined
        ? staticDims.get(ins[windowed.weight])
        : undefined;
      const w = windowOf(node, 2, weightDims);
      if (!w) return null;
      out = step(spatial[0], w, windowed.transposed);
    } else if (POINTWISE.has(op)) {
      const s0 = spatial[0];
      if (!spatial.every((s) => s.step.every((v, i) => v === s0.step[i]))) return null;
      if (op === "Concat" && new Attributes(node).int("axis", 1) !== 1) return null;
      out = {
        step: [...s0.step],
        lo: s0.lo.map((_, i) => Math.min(...spatial.map((s) => s.lo[i]))),
        hi: s0.hi.map((_, i) => Math.max(...spatial.map((s) => s.hi[i]))),
      };
    } else return null;
    for (const s of out.step) {
      if (!(s > 0) || (s >= 1 && !Number.isInteger(s))) return null;
      align = Math.max(align, s);
    }
    for (const o of node.output ?? []) spans.set(o, out);
  }
  let radius = 0;
  for (const o of graph.output ?? []) {
    const s = spans.get(o.name ?? "");
    if (!s || s.step.some((v) => v !== 1)) return null;
    radius = Math.max(radius, ...s.lo.map((v) => -v), ...s.hi);
  }
  return { radius: Math.ceil(radius), align };
}
