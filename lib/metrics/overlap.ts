/**
 * Overlap metrics of two binary masks from their confusion counts: Dice, IoU, precision
 * and recall, with the conventions of `tools/distill/metrics.py` for empty masks (both
 * empty → all 1; an empty prediction of a non-empty truth → precision 0, and so on).
 *
 * @module
 */

/** Pixel counts of a prediction against a ground truth. */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
}

/** Dice, IoU, precision and recall of one image. */
export interface OverlapMetrics {
  dice: number;
  iou: number;
  precision: number;
  recall: number;
}

/**
 * Counts true positives, false positives and false negatives.
 * @param pred predicted mask, non-zero = foreground
 * @param truth ground-truth mask of the same length
 * @throws {RangeError} when the lengths differ
 */
export function confusion(pred: ArrayLike<number>, truth: ArrayLike<number>): Confusion {
  if (pred.length !== truth.length) {
    throw new RangeError(`masks differ in size: ${pred.length} vs ${truth.length} pixels`);
  }
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] !== 0, t = truth[i] !== 0;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  return { tp, fp, fn };
}

/**
 * Overlap metrics from confusion counts.
 * @example
 * ```ts
 * overlapMetrics({ tp: 3, fp: 1, fn: 2 }).dice; // 6 / 9
 * ```
 */
export function overlapMetrics({ tp, fp, fn }: Confusion): OverlapMetrics {
  const bothEmpty = tp + fp + fn === 0;
  return {
    dice: bothEmpty ? 1 : (2 * tp) / (2 * tp + fp + fn),
    iou: bothEmpty ? 1 : tp / (tp + fp + fn),
    precision: tp + fp > 0 ? tp / (tp + fp) : (fn === 0 ? 1 : 0),
    recall: tp + fn > 0 ? tp / (tp + fn) : (fp === 0 ? 1 : 0),
  };
}
