/**
 * MaxPool and AveragePool with ONNX padding semantics: pads (and ceil_mode's extra row or
 * column) are applied explicitly, so max pooling never sees padding and average pooling
 * divides by the count ONNX prescribes (`count_include_pad`).
 *
 * @module
 */
import type { Tensor4D } from "@tensorflow/tfjs-core";
import type { OpBuilder, OpContext } from "./op_context.ts";
import { requireAct } from "./op_context.ts";
import { readWindow, resolvePads, type Window } from "./padding.ts";

type Pads = [[number, number], [number, number], [number, number], [number, number]];

/** Pads for an input size, with ceil_mode's extra end rows/columns. */
function poolPads(
  win: Window,
  ceil: boolean,
  size: [number, number],
): { pads: Pads; extra: [number, number] } {
  const pads = resolvePads(win, size);
  const extra: [number, number] = [0, 0];
  if (ceil) {
    for (const i of [0, 1] as const) {
      const [head, tail] = pads[i + 1];
      const span = size[i] + head + tail;
      let out = Math.ceil((span - win.kernel[i]) / win.strides[i]) + 1;
      if ((out - 1) * win.strides[i] >= size[i] + head) out--; // last window must start inside
      extra[i] = Math.max(0, (out - 1) * win.strides[i] + win.kernel[i] - span);
    }
  }
  return { pads, extra };
}

function readPool(ctx: OpContext, extra: string[]): { win: Window; ceil: boolean } {
  ctx.attrs.only([
    "auto_pad",
    "ceil_mode",
    "dilations",
    "kernel_shape",
    "pads",
    "strides",
    ...extra,
  ]);
  requireAct(ctx, 0);
  if ((ctx.node.output ?? []).slice(1).some((o) => o)) ctx.attrs.unsupported("Indices output");
  const win = readWindow(ctx.attrs);
  if (win.dilations.some((d) => d !== 1)) ctx.attrs.unsupported(`dilations=[${win.dilations}]`);
  return { win, ceil: ctx.attrs.int("ceil_mode", 0) === 1 };
}

const maxPool: OpBuilder = (ctx) => {
  const { tf } = ctx;
  const { win, ceil } = readPool(ctx, ["storage_order"]);
  return {
    kind: "act",
    inputs: [0],
    run: ([x]) => {
      const { pads, extra } = poolPads(win, ceil, [x.shape[1]!, x.shape[2]!]);
      const full: Pads = [[0, 0], [pads[1][0], pads[1][1] + extra[0]], [
        pads[2][0],
        pads[2][1] + extra[1],
      ], [0, 0]];
      const padded = full.some(([a, b]) => a || b) ? tf.pad(x, full, -Infinity) : x;
      return tf.maxPool(padded as Tensor4D, win.kernel, win.strides, "valid");
    },
  };
};

const averagePool: OpBuilder = (ctx) => {
  const { tf } = ctx;
  const { win, ceil } = readPool(ctx, ["count_include_pad"]);
  const includePad = ctx.attrs.int("count_include_pad", 0) === 1;
  return {
    kind: "act",
    inputs: [0],
    run: ([x]) => {
      const [h, w] = [x.shape[1]!, x.shape[2]!];
      const { pads, extra } = poolPads(win, ceil, [h, w]);
      const [[t, b], [l, r]] = [pads[1], pads[2]];
      if (!t && !b && !l && !r && !extra[0] && !extra[1]) {
        return tf.avgPool(x as Tensor4D, win.kernel, win.strides, "valid");
      }
      const full: Pads = [[0, 0], [t, b + extra[0]], [l, r + extra[1]], [0, 0]];
      const mean = tf.avgPool(tf.pad(x, full) as Tensor4D, win.kernel, win.strides, "valid");
      // The share of each window that counts, from a one-channel mask of the counted area.
      const counted = includePad
        ? tf.pad(tf.ones([1, h + t + b, w + l + r, 1]), [[0, 0], [0, extra[0]], [0, extra[1]], [
          0,
          0,
        ]])
        : tf.pad(tf.ones([1, h, w, 1]), full);
      const share = tf.avgPool(counted as Tensor4D, win.kernel, win.strides, "valid");
      return tf.div(mean, share);
    },
  };
};

/** Builders of this module, by op type. */
export const POOL_OPS: Record<string, OpBuilder> = { MaxPool: maxPool, AveragePool: averagePool };
