/**
 * What an operator builder gets and returns. Builders run once at load: they read
 * attributes and constant inputs, upload weights (already in NHWC order) and return either
 * a folded constant or a runtime function over NHWC activations.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import type { onnx } from "../../onnx/proto.ts";
import { describeNode } from "../../onnx/attributes.ts";
import { type Attributes, UnsupportedOnnxError } from "./attributes.ts";
import type { Tf } from "./backend.ts";
import type { ConstTensor } from "../../onnx/tensor_data.ts";

/** A graph value at load time: a known constant (ONNX layout) or a runtime activation (NHWC). */
export type Value = { kind: "const"; tensor: ConstTensor } | { kind: "act" };

/** A runtime function of a node: its activation inputs (NHWC) → its output (NHWC). */
export type ActFn = (xs: Tensor[]) => Tensor;

/** What a builder makes of a node. */
export type OpResult =
  | { kind: "const"; tensor: ConstTensor }
  /** `inputs`: indices (into the node's inputs) of the activations `run` takes, in order */
  | { kind: "act"; inputs: number[]; run: ActFn };

/** An activation folded into a convolution. */
export type Activation = { kind: "relu" } | { kind: "leakyrelu"; alpha: number } | {
  kind: "sigmoid";
};

/** Following nodes folded into a convolution (per-channel affine, then an activation). */
export interface Fusion {
  /** y = conv * scale + shift, per output channel (a folded BatchNormalization) */
  affine?: { scale: Float32Array; shift: Float32Array };
  activation?: Activation;
  /**
   * The input is a channel Concat of this many activations, not materialised: the conv
   * runs on each part with the matching slice of its weights and sums (tfjs's channel
   * concat is a slow copy). The parts replace input 0 in `run`'s arguments.
   */
  concatParts?: number;
}

/** Everything a builder may use. */
export interface OpContext {
  tf: Tf;
  node: onnx.INodeProto;
  attrs: Attributes;
  /** the model's default-domain opset */
  opset: number;
  /** the node's inputs; undefined where an optional input is absent */
  inputs: (Value | undefined)[];
  /** nodes after this one folded into it (only convolutions get any) */
  fusion: Fusion;
  /** keeps a weight tensor for the session's lifetime (disposed on release) */
  keep<T extends Tensor>(t: T): T;
}

/** Builds a node. */
export type OpBuilder = (ctx: OpContext) => OpResult;

/**
 * The constant at input `i`.
 * @throws {UnsupportedOnnxError} when it is absent or computed at run time
 */
export function constInput(ctx: OpContext, i: number, what: string): ConstTensor {
  const v = ctx.inputs[i];
  if (!v) throw new UnsupportedOnnxError(`${describeNode(ctx.node)}: missing ${what}`);
  if (v.kind !== "const") {
    throw new UnsupportedOnnxError(
      `${
        describeNode(ctx.node)
      }: ${what} must be a constant (initializer), not computed at run time`,
    );
  }
  return v.tensor;
}

/** The constant at input `i`, or undefined when the input is absent. */
export function optionalConst(ctx: OpContext, i: number, what: string): ConstTensor | undefined {
  return ctx.inputs[i] ? constInput(ctx, i, what) : undefined;
}

/**
 * Checks that input `i` is a runtime activation.
 * @throws {UnsupportedOnnxError} when it is a constant or absent
 */
export function requireAct(ctx: OpContext, i: number): void {
  const v = ctx.inputs[i];
  if (!v || v.kind !== "act") {
    throw new UnsupportedOnnxError(
      `${describeNode(ctx.node)}: input ${i} must be computed from the model input`,
    );
  }
}

/** Maps an ONNX (NCHW) axis of a rank-4 activation to its NHWC axis. */
export function nhwcAxis(axis: number, ctx: OpContext): number {
  const a = axis < 0 ? axis + 4 : axis;
  if (a < 0 || a > 3) ctx.attrs.unsupported(`axis ${axis} (activations have rank 4)`);
  return [0, 3, 1, 2][a];
}

/**
 * A constant broadcast against a rank-4 NCHW activation, rearranged for the NHWC one:
 * its dims are right-aligned to rank 4 (numpy rules), then permuted like the activation.
 * @throws {UnsupportedOnnxError} for constants of rank above 4
 */
export function nhwcBroadcast(
  c: ConstTensor,
  ctx: OpContext,
): { data: Float32Array; shape: number[] } {
  if (c.dims.length > 4) ctx.attrs.unsupported(`a rank-${c.dims.length} constant operand`);
  const d = [...Array(4 - c.dims.length).fill(1), ...c.dims];
  const [n, ch, h, w] = d;
  const out = new Float32Array(c.data.length);
  for (let a = 0; a < n; a++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < ch; k++) {
          out[((a * h + y) * w + x) * ch + k] = c.data[((a * ch + k) * h + y) * w + x];
        }
      }
    }
  }
  return { data: out, shape: [n, h, w, ch] };
}
