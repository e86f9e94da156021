/**
 * HD95: the 95th percentile of the symmetric boundary-to-boundary distances of two masks,
 * in pixels (MedPy's convention, as `tools/distill/metrics.py`): distances from every
 * boundary pixel of the prediction to the nearest boundary pixel of the ground truth, and
 * the other way round, pooled; the percentile interpolates linearly between order
 * statistics (d3-array's `quantile`, the same R-7 definition as NumPy's default).
 *
 * Empty masks: both empty → 0; exactly one empty → the image diagonal (a bounded worst
 * case instead of infinity).
 *
 * @module
 */
// @ts-types="npm:@types/d3-array@3.2.2"
import { quantile } from "d3-array";
import { boundary } from "./boundary.ts";
import { distanceTransform } from "./edt.ts";

function any(mask: ArrayLike<number>): boolean {
  for (let i = 0; i < mask.length; i++) if (mask[i]) return true;
  return false;
}

/**
 * 95th-percentile Hausdorff distance between two binary masks of the same size.
 * @param pred predicted mask, `width × height`, non-zero = foreground
 * @param truth ground-truth mask, same size
 * @returns pixels
 * @throws {RangeError} when the sizes do not match
 * @example
 * ```ts
 * hd95(Uint8Array.from([1, 0, 0, 0]), Uint8Array.from([0, 0, 0, 1]), 4, 1); // 3
 * ```
 */
export function hd95(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  width: number,
  height: number,
): number {
  if (pred.length !== width * height || truth.length !== width * height) {
    throw new RangeError(
      `hd95: masks of ${pred.length} and ${truth.length} values for a ${width}×${height} image`,
    );
  }
  const hasPred = any(pred), hasTruth = any(truth);
  if (!hasPred && !hasTruth) return 0;
  if (!hasPred || !hasTruth) return Math.hypot(width, height);
  const sp = boundary(pred, width, height);
  const st = boundary(truth, width, height);
  const toTruth = distanceTransform(st, width, height);
  const toPred = distanceTransform(sp, width, height);
  const distances: number[] = [];
  for (let i = 0; i < sp.length; i++) if (sp[i]) distances.push(toTruth[i]);
  for (let i = 0; i < st.length; i++) if (st[i]) distances.push(toPred[i]);
  return quantile(distances, 0.95)!; // both boundaries are non-empty here
}
