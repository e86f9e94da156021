/**
 * Per-image segmentation metrics on hard masks (Dice, IoU, HD95, precision, recall) and
 * their mean over a set: metrics are computed per image, then averaged, as
 * `tools/distill/metrics.py` does, so the Deno and Python figures are comparable.
 *
 * @module
 */
import { hd95 } from "./hd95.ts";
import { confusion, overlapMetrics } from "./overlap.ts";

/** The metrics of one image. */
export interface ImageMetrics {
  dice: number;
  iou: number;
  /** pixels */
  hd95: number;
  precision: number;
  recall: number;
}

/** Metric names, in report order. */
export const METRIC_NAMES = ["dice", "iou", "hd95", "precision", "recall"] as const;

/**
 * Computes every metric of one prediction.
 * @param pred predicted mask, `width × height`, non-zero = foreground
 * @param truth ground-truth mask, same size
 * @throws {RangeError} when the sizes do not match
 */
export function imageMetrics(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  width: number,
  height: number,
): ImageMetrics {
  return { ...overlapMetrics(confusion(pred, truth)), hd95: hd95(pred, truth, width, height) };
}

/**
 * The mean of each metric over images.
 * @throws {RangeError} for an empty list
 */
export function meanMetrics(rows: readonly ImageMetrics[]): ImageMetrics {
  if (rows.length === 0) throw new RangeError("no images to average");
  const mean = (k: keyof ImageMetrics) => rows.reduce((a, r) => a + r[k], 0) / rows.length;
  return {
    dice: mean("dice"),
    iou: mean("iou"),
    hd95: mean("hd95"),
    precision: mean("precision"),
    recall: mean("recall"),
  };
}
