/**
 * Conv and ConvTranspose on tfjs NHWC kernels. Weights are rearranged to tfjs's filter
 * layout once at load; a following BatchNormalization and activation may be folded into a
 * Conv (see {@link Fusion}).
 *
 * @module
 */
import type { Tensor, Tensor1D, Tensor4D } from "@tensorflow/tfjs-core";
import type { Tf } from "./backend.ts";
import {
  type Activation,
  constInput,
  type OpBuilder,
  type OpContext,
  type OpResult,
  optionalConst,
  requireAct,
} from "./op_context.ts";
import { readWindow, resolvePads } from "./padding.ts";
import type { ConstTensor } from "../../onnx/tensor_data.ts";

/**
 * ONNX weights [O, I, kh, kw] → tfjs filter [kh, kw, I, O], for output channels
 * [o0, o0+count), optionally scaled per output channel.
 */
function convFilter(
  w: ConstTensor,
  o0: number,
  count: number,
  scale?: Float32Array,
): { data: Float32Array; shape: number[] } {
  const [, ci, kh, kw] = w.dims;
  const out = new Float32Array(kh * kw * ci * count);
  for (let o = 0; o < count; o++) {
    const s = scale ? scale[o0 + o] : 1;
    for (let i = 0; i < ci; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const v = w.data[(((o0 + o) * ci + i) * kh + y) * kw + x];
          out[((y * kw + x) * ci + i) * count + o] = scale ? Math.fround(v * s) : v;
        }
      }
    }
  }
  return { data: out, shape: [kh, kw, ci, count] };
}

/** tfjs fused-activation arguments for an activation. */
function fusedActivation(
  a: Activation | undefined,
): { activation: "linear" | "relu" | "leakyrelu" | "sigmoid"; leakyreluAlpha?: number } {
  if (!a) return { activation: "linear" };
  return a.kind === "leakyrelu"
    ? { activation: "leakyrelu", leakyreluAlpha: a.alpha }
    : { activation: a.kind };
}

/** Applies an activation with plain ops (paths tfjs cannot fuse). */
export function applyActivation(tf: Tf, x: Tensor, a: Activation | undefined): Tensor {
  if (!a) return x;
  if (a.kind === "relu") return tf.relu(x);
  if (a.kind === "sigmoid") return tf.sigmoid(x);
  return tf.leakyRelu(x, a.alpha);
}

function checkChannels(ctx: OpContext, x: Tensor, expected: number): void {
  const c = x.shape[3];
  if (c !== expected) {
    throw new Error(
      `${ctx.node.opType} "${
        ctx.node.name ?? ""
      }": input has ${c} channels, the weights expect ${expected}`,
    );
  }
}

const conv: OpBuilder = (ctx) => {
  const { tf, attrs, fusion } = ctx;
  attrs.only(["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"]);
  requireAct(ctx, 0);
  const w = constInput(ctx, 1, "weights W");
  if (w.dims.length !== 4) attrs.unsupported(`${w.dims.length - 2}-D convolution (only 2-D)`);
  const [m, cg, kh, kw] = w.dims;
  const win = readWindow(attrs, [kh, kw]);
  const group = attrs.int("group", 1);
  if (group < 1 || m % group !== 0) attrs.unsupported(`group=${group} with ${m} output channels`);
  const b = optionalConst(ctx, 2, "bias B");
  if (b && b.data.length !== m) {
    attrs.unsupported(`bias of length ${b.data.length} for ${m} channels`);
  }
  const bias = new Float32Array(m);
  for (let o = 0; o < m; o++) {
    const v = b ? b.data[o] : 0;
    bias[o] = fusion.affine ? Math.fround(v * fusion.affine.scale[o] + fusion.affine.shift[o]) : v;
  }
  const scale = fusion.affine?.scale;
  const biasT = ctx.keep(tf.tensor1d(bias));
  const act = fusedActivation(fusion.activation);
  const [sh, sw] = win.strides;
  const [dh, dw] = win.dilations;
  // tfjs convolutions take strides or dilations, not both: run stride 1 and subsample.
  const subsample = (sh > 1 || sw > 1) && (dh > 1 || dw > 1);
  const strides: [number, number] = subsample ? [1, 1] : [sh, sw];
  const finish = (y: Tensor4D): Tensor4D =>
    subsample ? tf.stridedSlice(y, [0, 0, 0, 0], y.shape, [1, sh, sw, 1]) as Tensor4D : y;
  const cin = cg * group;
  const mg = m / group;

  if (group === 1) {
    const f = convFilter(w, 0, m, scale);
    const filter = ctx.keep(tf.tensor4d(f.data, f.shape as [number, number, number, number]));
    return {
      kind: "act",
      inputs: [0],
      run: (xs) => {
        const pad = resolvePads(win, [xs[0].shape[1]!, xs[0].shape[2]!]);
        if (xs.length === 1) {
          checkChannels(ctx, xs[0], cin);
          return finish(
            tf.fused.conv2d({
              x: xs[0] as Tensor4D,
              filter,
              strides,
              pad,
              dilations: [dh, dw],
              bias: biasT,
              ...act,
            }),
          );
        }
        // A concatenated input: conv each part with its weight slice, then sum.
        const total = xs.reduce((n, x) => n + x.shape[3]!, 0);
        if (total !== cin) {
          throw new Error(
            `Conv "${ctx.node.name ?? ""}": input has ${total} channels, the weights expect ${cin}`,
          );
        }
        let offset = 0;
        const ys = xs.map((x, i) => {
          const c = x.shape[3]!;
          const part = tf.slice(filter, [0, 0, offset, 0], [kh, kw, c, m]);
          offset += c;
          const last = i === xs.length - 1;
          return tf.fused.conv2d({
            x: x as Tensor4D,
            filter: part,
            strides,
            pad,
            dilations: [dh, dw],
            bias: last ? biasT : undefined,
          });
        });
        return finish(applyActivation(tf, tf.addN(ys), fusion.activation) as Tensor4D);
      },
    };
  }
  if (cg === 1) {
    // Depthwise: output channel o reads input channel ⌊o / mg⌋ → tfjs [kh, kw, C, mg].
    // [kh, kw, 1, M] and [kh, kw, C, mg] share one memory order (o = c·mg + j).
    const filter = ctx.keep(tf.tensor4d(convFilter(w, 0, m, scale).data, [kh, kw, group, mg]));
    return {
      kind: "act",
      inputs: [0],
      run: ([x]) => {
        checkChannels(ctx, x, cin);
        const pad = resolvePads(win, [x.shape[1]!, x.shape[2]!]);
        return finish(tf.fused.depthwiseConv2d({
          x: x as Tensor4D,
          filter,
          strides,
          pad: pad as unknown as number,
          dilations: [dh, dw],
          bias: biasT,
          ...act,
        }));
      },
    };
  }
  const filters = Array.from({ length: group }, (_, g) => {
    const f = convFilter(w, g * mg, mg, scale);
    return ctx.keep(tf.tensor4d(f.data, f.shape as [number, number, number, number]));
  });
  return {
    kind: "act",
    inputs: [0],
    run: ([x]) => {
      checkChannels(ctx, x, cin);
      const pad = resolvePads(win, [x.shape[1]!, x.shape[2]!]);
      const parts = tf.split(x, group, 3) as Tensor4D[];
      const ys = parts.map((p, g) => tf.conv2d(p, filters[g], strides, pad, "NHWC", [dh, dw]));
      const y = applyActivation(tf, tf.add(tf.concat(ys, 3), biasT), fusion.activation) as Tensor4D;
      return finish(y);
    },
  };
};

const convTranspose: OpBuilder = (ctx) => {
  const { tf, attrs } = ctx;
  attrs.only([
    "auto_pad",
    "dilations",
    "group",
    "kernel_shape",
    "output_padding",
    "pads",
    "strides",
  ]);
  requireAct(ctx, 0);
  const w = constInput(ctx, 1, "weights W");
  if (w.dims.length !== 4) {
    attrs.unsupported(`${w.dims.length - 2}-D transposed convolution (only 2-D)`);
  }
  const [cin, mg, kh, kw] = w.dims;
  const win = readWindow(attrs, [kh, kw]);
  if (win.autoPad !== "NOTSET" && win.autoPad !== "VALID") {
    attrs.unsupported(`auto_pad=${win.autoPad}`);
  }
  if (win.dilations.some((d) => d !== 1)) attrs.unsupported(`dilations=[${win.dilations}]`);
  const group = attrs.int("group", 1);
  if (group < 1 || cin % group !== 0) {
    attrs.unsupported(`group=${group} with ${cin} input channels`);
  }
  const outPad = attrs.ints("output_padding", [0, 0]);
  if (outPad.length !== 2 || outPad.some((p) => p < 0)) {
    attrs.unsupported(`output_padding=[${outPad}]`);
  }
  const m = mg * group;
  const b = optionalConst(ctx, 2, "bias B");
  if (b && b.data.length !== m) {
    attrs.unsupported(`bias of length ${b.data.length} for ${m} channels`);
  }
  const biasT = b ? ctx.keep(tf.tensor1d(b.data)) as Tensor1D : undefined;
  const ci = cin / group;
  // ONNX [C, M/g, kh, kw] → tfjs conv2dTranspose filter [kh, kw, M/g, C/g], per group.
  const filters = Array.from({ length: group }, (_, g) => {
    const data = new Float32Array(kh * kw * mg * ci);
    for (let c = 0; c < ci; c++) {
      for (let o = 0; o < mg; o++) {
        for (let y = 0; y < kh; y++) {
          for (let x = 0; x < kw; x++) {
            data[((y * kw + x) * mg + o) * ci + c] =
              w.data[((((g * ci) + c) * mg + o) * kh + y) * kw + x];
          }
        }
      }
    }
    return ctx.keep(tf.tensor4d(data, [kh, kw, mg, ci]));
  });
  const [sh, sw] = win.strides;
  const [pt, pl, pb, pr] = win.autoPad === "VALID" ? [0, 0, 0, 0] : win.pads;
  if (
    group === 1 && kh === kw && sh === kh && sw === kw && !(pt || pl || pb || pr) && !outPad[0] &&
    !outPad[1]
  ) {
    return depthToSpaceTranspose(ctx, w, kh, biasT);
  }
  return {
    kind: "act",
    inputs: [0],
    run: ([x]) => {
      checkChannels(ctx, x, cin);
      const [n, h, wd] = x.shape as number[];
      const fullH = (h - 1) * sh + kh;
      const fullW = (wd - 1) * sw + kw;
      const outH = fullH + outPad[0] - pt - pb;
      const outW = fullW + outPad[1] - pl - pr;
      if (outH < 1 || outW < 1) {
        throw new Error(
          `ConvTranspose "${ctx.node.name ?? ""}": pads leave no output for a ${h}×${wd} input`,
        );
      }
      const parts = group === 1 ? [x as Tensor4D] : tf.split(x, group, 3) as Tensor4D[];
      const ys = parts.map((p, g) =>
        tf.conv2dTranspose(p, filters[g], [n, fullH, fullW, mg], [sh, sw], "valid")
      );
      let y: Tensor4D = ys.length === 1 ? ys[0] : tf.concat(ys, 3);
      if (outPad[0] > 0 || outPad[1] > 0) {
        y = tf.pad(y, [[0, 0], [0, outPad[0]], [0, outPad[1]], [0, 0]]);
      }
      if (pt || pl || pb || pr || outH !== y.shape[1] || outW !== y.shape[2]) {
        y = tf.slice(y, [0, pt, pl, 0], [n, outH, outW, m]);
      }
      return biasT ? tf.add(y, biasT) : y;
    },
  };
};

/**
 * A transposed convolution whose kernel equals its stride (k×k, stride k, no padding, the
 * U-Net up-sampling) writes each output pixel from exactly one input pixel: one matrix
 * product [N·H·W, C] × [C, k·k·M] and a depth-to-space. Faster than tfjs's generic
 * Conv2DBackpropInput, and exact to float rounding.
 */
function depthToSpaceTranspose(
  ctx: OpContext,
  w: ConstTensor,
  k: number,
  bias: Tensor1D | undefined,
): OpResult {
  const { tf } = ctx;
  const [c, m] = w.dims;
  // ONNX W[c, o, i, j] → matrix[c, (i·k + j)·M + o], the channel order depthToSpace reads.
  const data = new Float32Array(c * k * k * m);
  for (let ci = 0; ci < c; ci++) {
    for (let o = 0; o < m; o++) {
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          data[ci * k * k * m + (i * k + j) * m + o] = w.data[((ci * m + o) * k + i) * k + j];
        }
      }
    }
  }
  const matrix = ctx.keep(tf.tensor2d(data, [c, k * k * m]));
  return {
    kind: "act",
    inputs: [0],
    run: ([x]) => {
      checkChannels(ctx, x, c);
      const [n, h, wd] = x.shape as number[];
      const cols = tf.reshape(tf.matMul(tf.reshape(x, [n * h * wd, c]), matrix), [
        n,
        h,
        wd,
        k * k * m,
      ]) as Tensor4D;
      const y = tf.depthToSpace(cols, k, "NHWC");
      return bias ? tf.add(y, bias) : y;
    },
  };
}

/** Builders of this module, by op type. */
export const CONV_OPS: Record<string, OpBuilder> = { Conv: conv, ConvTranspose: convTranspose };
