/**
 * Resize (opset ≥ 11) in nearest and linear modes, computed exactly as ONNX defines it:
 * source coordinates per coordinate_transformation_mode in float32, nearest_mode rounding,
 * clamping at the border, then gathers (and a weighted sum for linear) along H and W.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import type { Tf } from "./backend.ts";
import { type OpBuilder, optionalConst, requireAct } from "./op_context.ts";

const f = Math.fround;
const COORDINATE_MODES = [
  "half_pixel",
  "half_pixel_symmetric",
  "pytorch_half_pixel",
  "align_corners",
  "asymmetric",
];
const NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

/** Source coordinate of output index `x` along one axis (float32 arithmetic, like onnxruntime). */
export function sourceCoordinate(
  mode: string,
  x: number,
  scale: number,
  inSize: number,
  outSize: number,
): number {
  switch (mode) {
    case "half_pixel":
      return f(f(f(x + 0.5) / scale) - 0.5);
    case "half_pixel_symmetric": {
      const adjustment = f(outSize / f(scale * inSize));
      const offset = f(f(inSize * f(1 - adjustment)) / 2);
      return f(offset + f(f(f(x + 0.5) / scale) - 0.5));
    }
    case "pytorch_half_pixel":
      return outSize > 1 ? f(f(f(x + 0.5) / scale) - 0.5) : 0;
    case "align_corners":
      return outSize === 1 ? 0 : f(f(x * (inSize - 1)) / (outSize - 1));
    default: // asymmetric
      return f(x / scale);
  }
}

/** The input index nearest mode picks for a source coordinate, clamped to the input. */
export function nearestIndex(mode: string, v: number, inSize: number): number {
  let i: number;
  if (mode === "floor") i = Math.floor(v);
  else if (mode === "ceil") i = Math.ceil(v);
  else if (mode === "round_prefer_ceil") i = Math.floor(v + 0.5);
  else i = v === Math.floor(v) + 0.5 ? Math.floor(v) : Math.round(v);
  return Math.min(Math.max(i, 0), inSize - 1);
}

interface AxisPlan {
  lo: Int32Array;
  hi: Int32Array;
  /** weight of `hi` (linear only) */
  w: Float32Array;
}

function planAxis(
  linear: boolean,
  coord: string,
  nearest: string,
  inSize: number,
  outSize: number,
  scale: number,
): AxisPlan {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  for (let x = 0; x < outSize; x++) {
    const v = sourceCoordinate(coord, x, scale, inSize, outSize);
    if (!linear) {
      lo[x] = hi[x] = nearestIndex(nearest, v, inSize);
      continue;
    }
    const c = Math.min(Math.max(v, 0), inSize - 1);
    lo[x] = Math.min(Math.floor(c), inSize - 1);
    hi[x] = Math.min(lo[x] + 1, inSize - 1);
    w[x] = f(c - lo[x]);
  }
  return { lo, hi, w };
}

function resizeAxis(tf: Tf, x: Tensor, axis: 1 | 2, plan: AxisPlan, linear: boolean): Tensor {
  const lo = tf.gather(x, tf.tensor1d(plan.lo, "int32"), axis);
  if (!linear) return lo;
  const hi = tf.gather(x, tf.tensor1d(plan.hi, "int32"), axis);
  const shape = axis === 1 ? [1, plan.w.length, 1, 1] : [1, 1, plan.w.length, 1];
  const w = tf.tensor(plan.w, shape);
  return tf.add(lo, tf.mul(tf.sub(hi, lo), w));
}

const resize: OpBuilder = (ctx) => {
  const { tf, attrs } = ctx;
  attrs.only([
    "mode",
    "coordinate_transformation_mode",
    "nearest_mode",
    "cubic_coeff_a",
    "exclude_outside",
    "extrapolation_value",
    "antialias",
    "axes",
    "keep_aspect_ratio_policy",
  ]);
  if (ctx.opset < 11) attrs.unsupported(`Resize from opset ${ctx.opset} (needs opset 11 or later)`);
  requireAct(ctx, 0);
  const mode = attrs.string("mode", "nearest");
  if (mode !== "nearest" && mode !== "linear") attrs.unsupported(`mode=${mode}`);
  const coord = attrs.string("coordinate_transformation_mode", "half_pixel");
  if (!COORDINATE_MODES.includes(coord)) {
    attrs.unsupported(`coordinate_transformation_mode=${coord}`);
  }
  const nearest = attrs.string("nearest_mode", "round_prefer_floor");
  if (!NEAREST_MODES.includes(nearest)) attrs.unsupported(`nearest_mode=${nearest}`);
  if (attrs.int("antialias", 0) !== 0) attrs.unsupported("antialias=1");
  if (attrs.int("exclude_outside", 0) !== 0) attrs.unsupported("exclude_outside=1");
  if (attrs.string("keep_aspect_ratio_policy", "stretch") !== "stretch") {
    attrs.unsupported(`keep_aspect_ratio_policy=${attrs.string("keep_aspect_ratio_policy", "")}`);
  }
  const axes = attrs.ints("axes", [0, 1, 2, 3]).map((a) => (a < 0 ? a + 4 : a));
  if (axes.some((a) => a < 0 || a > 3)) attrs.unsupported(`axes=[${attrs.ints("axes", [])}]`);
  const scales = optionalConst(ctx, 2, "scales");
  const sizes = optionalConst(ctx, 3, "sizes");
  const given = sizes && sizes.data.length > 0
    ? sizes
    : scales && scales.data.length > 0
    ? scales
    : undefined;
  if (!given) return attrs.unsupported("a Resize with neither scales nor sizes");
  if (given.data.length !== axes.length) {
    attrs.unsupported(`${given.data.length} scales/sizes for ${axes.length} axes`);
  }
  const bySizes = given === sizes;
  // Per NCHW axis: the scale or the size asked for (undefined = unchanged).
  const want: (number | undefined)[] = [undefined, undefined, undefined, undefined];
  axes.forEach((a, i) => (want[a] = given.data[i]));
  if (!bySizes) {
    for (const a of [0, 1]) {
      if (want[a] !== undefined && want[a] !== 1) {
        attrs.unsupported(`scale ${want[a]} on axis ${a} (only H and W resize)`);
      }
    }
    for (const a of [2, 3]) {
      if (want[a] !== undefined && !(want[a]! > 0)) attrs.unsupported(`scale ${want[a]}`);
    }
  }
  const linear = mode === "linear";
  return {
    kind: "act",
    inputs: [0],
    run: ([x]) => {
      const [n, h, w, c] = x.shape as number[];
      const inDims = [n, c, h, w];
      const outDims = inDims.map((d, a) => {
        const v = want[a];
        if (v === undefined) return d;
        return bySizes ? v : Math.floor(f(d * v));
      });
      if (outDims[0] !== n || outDims[1] !== c) {
        throw new Error(`Resize "${ctx.node.name ?? ""}": only H and W may change size`);
      }
      if (outDims[2] < 1 || outDims[3] < 1) {
        throw new Error(`Resize "${ctx.node.name ?? ""}": empty output`);
      }
      const scaleOf = (
        a: 2 | 3,
      ) => (bySizes || want[a] === undefined ? f(outDims[a] / inDims[a]) : want[a]!);
      let y = x;
      if (outDims[2] !== h || want[2] !== undefined) {
        y = resizeAxis(
          tf,
          y,
          1,
          planAxis(linear, coord, nearest, h, outDims[2], scaleOf(2)),
          linear,
        );
      }
      if (outDims[3] !== w || want[3] !== undefined) {
        y = resizeAxis(
          tf,
          y,
          2,
          planAxis(linear, coord, nearest, w, outDims[3], scaleOf(3)),
          linear,
        );
      }
      return y;
    },
  };
};

/** Builders of this module, by op type. */
export const RESIZE_OPS: Record<string, OpBuilder> = { Resize: resize };
