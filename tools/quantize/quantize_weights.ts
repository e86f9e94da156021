/**
 * Weight and bias quantisation for QDQ graphs, as onnxruntime expects them: weights int8,
 * symmetric (zero point 0), per tensor or per channel along an axis; biases int32 with
 * scale = input scale × weight scale (per channel when the weight is) and zero point 0.
 *
 * @module
 */
import { quantizeValue, weightLimit, weightScale } from "./qparams.ts";

/** An int8 weight with its scales (one, or one per slice along `axis`). */
export interface QuantizedWeight {
  values: Int8Array;
  scales: Float32Array;
  /** the channel axis, or null for one scale over the whole tensor */
  axis: number | null;
}

/** For an element index, its slice along `axis` of a tensor shaped `dims`. */
export function sliceIndexer(dims: number[], axis: number): (i: number) => number {
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const size = dims[axis];
  return (i) => Math.floor(i / inner) % size;
}

/**
 * Quantises a float weight to int8.
 * @param values the weight, row-major
 * @param dims its shape
 * @param axis channel axis for per-channel scales, or null for per-tensor
 * @param reduceRange use 7 bits ([−63, 63]) instead of [−127, 127]
 * @throws {RangeError} for an axis outside the shape or non-finite weights
 */
export function quantizeWeight(
  values: Float32Array,
  dims: number[],
  axis: number | null,
  reduceRange = false,
): QuantizedWeight {
  if (axis !== null && (axis < 0 || axis >= dims.length)) {
    throw new RangeError(`axis ${axis} outside a rank-${dims.length} weight`);
  }
  const channels = axis === null ? 1 : dims[axis];
  const channelOf = axis === null ? () => 0 : sliceIndexer(dims, axis);
  const absMax = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new RangeError(`weight holds a non-finite value (${v}) at ${i}`);
    const c = channelOf(i);
    absMax[c] = Math.max(absMax[c], Math.abs(v));
  }
  const scales = Float32Array.from(absMax, (m) => weightScale(m, reduceRange));
  const limit = weightLimit(reduceRange);
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    q[i] = quantizeValue(values[i], { scale: scales[channelOf(i)], zeroPoint: 0 }, -limit, limit);
  }
  return { values: q, scales, axis };
}

/** The int32 bias, or null when a value would overflow int32 (keep that bias float). */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { values: Int32Array; scales: Float32Array } | null {
  const perChannel = weightScales.length > 1;
  const scales = Float32Array.from(
    perChannel ? weightScales : [weightScales[0]],
    (s) => inputScale * s,
  );
  const values = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const q = Math.round(bias[c] / scales[perChannel ? c : 0]);
    if (!Number.isFinite(q) || Math.abs(q) > 2 ** 31 - 1) return null;
    values[c] = q;
  }
  return { values, scales };
}
