/**
 * Quantisation arithmetic (ONNX `QuantizeLinear` semantics: q = saturate(round(x / s) + zp),
 * round half to even; x ≈ (q − zp) · s).
 *
 * Activations: asymmetric per tensor, uint8 [0, 255] or int8 [−128, 127], over a range
 * widened to include 0 so that zero (padding, ReLU floor) is exact. Weights: symmetric
 * int8 (zero point 0) over [−127, 127], or [−63, 63] with `reduceRange` for CPUs whose
 * u8×s8 instructions saturate (x86 AVX2 without VNNI).
 *
 * @module
 */
import { roundHalfEven } from "../../src/onnx/quantize_linear.ts";

/** Activation element type. */
export type ActivationType = "uint8" | "int8";

/** Scale and zero point of one tensor (or one channel). */
export interface QParams {
  scale: number;
  zeroPoint: number;
}

/** The integer range of a type. */
export function integerRange(type: ActivationType): [number, number] {
  return type === "uint8" ? [0, 255] : [-128, 127];
}

/**
 * Asymmetric scale and zero point for an activation range.
 * @param min smallest value seen (or chosen by the calibration method)
 * @param max largest value
 * @throws {RangeError} for a non-finite range
 * @example
 * ```ts
 * activationParams(0, 2.55, "uint8"); // { scale: 0.01, zeroPoint: 0 }
 * ```
 */
export function activationParams(min: number, max: number, type: ActivationType): QParams {
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw new RangeError(`range [${min}, ${max}] is not finite`);
  }
  const [qmin, qmax] = integerRange(type);
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  let scale = (hi - lo) / (qmax - qmin);
  if (!(scale > 0) || !Number.isFinite(Math.fround(scale)) || Math.fround(scale) === 0) scale = 1;
  scale = Math.fround(scale);
  const zeroPoint = Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - lo / scale)));
  return { scale, zeroPoint };
}

/** The largest integer magnitude of symmetric int8 weights. */
export function weightLimit(reduceRange: boolean): number {
  return reduceRange ? 63 : 127;
}

/**
 * Symmetric weight scale for values whose largest magnitude is `absMax`.
 * An all-zero weight gets scale 1 (any scale represents it exactly).
 */
export function weightScale(absMax: number, reduceRange = false): number {
  const s = Math.fround(absMax / weightLimit(reduceRange));
  return s > 0 && Number.isFinite(s) ? s : 1;
}

/**
 * Quantises values with one scale/zero point.
 * @returns integers clamped to [qmin, qmax]
 */
export function quantizeValue(
  x: number,
  { scale, zeroPoint }: QParams,
  qmin: number,
  qmax: number,
): number {
  return Math.min(qmax, Math.max(qmin, roundHalfEven(x / scale) + zeroPoint));
}

/** Dequantises one integer. */
export function dequantizeValue(q: number, { scale, zeroPoint }: QParams): number {
  return (q - zeroPoint) * scale;
}
