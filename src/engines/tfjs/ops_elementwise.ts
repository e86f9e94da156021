/**
 * Elementwise and channel operators: Add, Mul, Relu, LeakyRelu, Sigmoid, Identity,
 * BatchNormalization (inference form) and Concat.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import { foldElementwise } from "./fold.ts";
import {
  constInput,
  nhwcAxis,
  nhwcBroadcast,
  type OpBuilder,
  type OpContext,
  type OpResult,
  requireAct,
} from "./op_context.ts";
import type { ConstTensor } from "../../onnx/tensor_data.ts";

const f32 = Math.fround;

function binary(tfOp: "add" | "mul", fn: (a: number, b: number) => number): OpBuilder {
  return (ctx) => {
    ctx.attrs.only([]);
    const [a, b] = ctx.inputs;
    if (!a || !b) return ctx.attrs.unsupported("a missing operand");
    if (a.kind === "const" && b.kind === "const") {
      return {
        kind: "const",
        tensor: foldElementwise([a.tensor, b.tensor], (x, y) => f32(fn(x, y))),
      };
    }
    if (a.kind === "act" && b.kind === "act") {
      return { kind: "act", inputs: [0, 1], run: ([x, y]) => ctx.tf[tfOp](x, y) };
    }
    const c = a.kind === "const" ? a.tensor : (b as { tensor: ConstTensor }).tensor;
    const { data, shape } = nhwcBroadcast(c, ctx);
    const k = ctx.keep(ctx.tf.tensor(data, shape));
    const actIndex = a.kind === "act" ? 0 : 1;
    // Both operand orders give the same float result for + and ×.
    return { kind: "act", inputs: [actIndex], run: ([x]) => ctx.tf[tfOp](x, k) };
  };
}

function unary(
  run: (ctx: OpContext, x: Tensor) => Tensor,
  fold: (ctx: OpContext) => (v: number) => number,
  attrs: string[] = [],
): OpBuilder {
  return (ctx): OpResult => {
    ctx.attrs.only(attrs);
    const v = ctx.inputs[0];
    if (v?.kind === "const") {
      const fn = fold(ctx);
      return { kind: "const", tensor: foldElementwise([v.tensor], (x) => f32(fn(x))) };
    }
    requireAct(ctx, 0);
    return { kind: "act", inputs: [0], run: ([x]) => run(ctx, x) };
  };
}

const leakyAlpha = (ctx: OpContext) => ctx.attrs.float("alpha", 0.01);

/** BatchNormalization's per-channel affine form: y = x·scale + shift. */
export function batchNormAffine(ctx: OpContext): { scale: Float32Array; shift: Float32Array } {
  ctx.attrs.only(["epsilon", "momentum", "training_mode", "spatial"]);
  if (ctx.attrs.int("training_mode", 0) !== 0) ctx.attrs.unsupported("training_mode=1");
  if (ctx.attrs.int("spatial", 1) !== 1) ctx.attrs.unsupported("spatial=0");
  if ((ctx.node.output ?? []).slice(1).some((o) => o)) {
    ctx.attrs.unsupported("running-statistics outputs");
  }
  const eps = ctx.attrs.float("epsilon", 1e-5);
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) =>
    constInput(ctx, i, ["", "scale", "B", "mean", "var"][i])
  );
  const c = gamma.data.length;
  for (const t of [beta, mean, variance]) {
    if (t.data.length !== c) ctx.attrs.unsupported("parameters of different lengths");
  }
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = gamma.data[i] / Math.sqrt(variance.data[i] + eps);
    shift[i] = beta.data[i] - mean.data[i] * scale[i];
  }
  return { scale, shift };
}

const batchNormalization: OpBuilder = (ctx) => {
  const { scale, shift } = batchNormAffine(ctx);
  requireAct(ctx, 0);
  const s = ctx.keep(ctx.tf.tensor1d(scale));
  const b = ctx.keep(ctx.tf.tensor1d(shift));
  return { kind: "act", inputs: [0], run: ([x]) => ctx.tf.add(ctx.tf.mul(x, s), b) };
};

const concat: OpBuilder = (ctx) => {
  ctx.attrs.only(["axis"]);
  if (!ctx.attrs.has("axis")) ctx.attrs.unsupported("missing axis");
  const axis = nhwcAxis(ctx.attrs.int("axis", 1), ctx);
  ctx.inputs.forEach((_, i) => requireAct(ctx, i));
  return { kind: "act", inputs: ctx.inputs.map((_, i) => i), run: (xs) => ctx.tf.concat(xs, axis) };
};

/** Builders of this module, by op type. */
export const ELEMENTWISE_OPS: Record<string, OpBuilder> = {
  Add: binary("add", (a, b) => a + b),
  Mul: binary("mul", (a, b) => a * b),
  Relu: unary((ctx, x) => ctx.tf.relu(x), () => (v) => Math.max(v, 0)),
  LeakyRelu: unary(
    (ctx, x) => ctx.tf.leakyRelu(x, leakyAlpha(ctx)),
    (ctx) => (v) => (v >= 0 ? v : v * leakyAlpha(ctx)),
    ["alpha"],
  ),
  Sigmoid: unary((ctx, x) => ctx.tf.sigmoid(x), () => (v) => 1 / (1 + Math.exp(-v))),
  Identity: (ctx) => {
    ctx.attrs.only([]);
    const v = ctx.inputs[0];
    if (v?.kind === "const") return { kind: "const", tensor: v.tensor };
    requireAct(ctx, 0);
    return { kind: "act", inputs: [0], run: ([x]) => ctx.tf.clone(x) };
  },
  BatchNormalization: batchNormalization,
  Concat: concat,
};
