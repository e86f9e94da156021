/**
 * Evaluation of a loaded model on a data set split through the serving path: each image
 * is decoded with `decodeImage` and segmented with `segmentImage` (preprocess → queued
 * engine run → postprocess, exactly what `/v1/segment` does), then scored against its
 * mask; metrics are per image, then averaged.
 *
 * @module
 */
import { decodeImage } from "../../src/imaging/decode.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/imaging/image.ts";
import { type ImageMetrics, imageMetrics, meanMetrics } from "../../lib/metrics/image_metrics.ts";
import type { ModelVersion, Precision, RuntimeInfo } from "../../src/models/model_version.ts";
import { segmentImage } from "../../src/segment.ts";
import { DataError, type Pair, readMask } from "./dataset.ts";

/** One image's result. */
export interface ImageRow extends ImageMetrics {
  id: string;
  width: number;
  height: number;
  /** engine run time of this image (ms) */
  inference_ms: number;
}

/** Options of {@link evaluatePairs}. */
export interface EvaluateOptions {
  /** `card` (default): the card's mask clean-up, as served; `none`: the thresholded mask */
  postprocess?: "card" | "none";
  /** sees each predicted mask (0/1) with its ground truth (0/1) and the foreground
   * probabilities it was cut from, e.g. to score a variant or another threshold */
  onMask?: (
    mask: Uint8Array,
    truth: Uint8Array,
    width: number,
    height: number,
    probability: Float32Array,
  ) => void;
}

/** A whole evaluation. */
export interface EvaluationResult {
  rows: ImageRow[];
  mean: ImageMetrics;
  n: number;
  runtime: RuntimeInfo;
}

/**
 * Scores a model on image/mask pairs.
 * @param model a loaded model version
 * @param pairs the images and masks
 * @param precision which of the model's files to run
 * @param progress called after each image
 * @param options post-processing and a hook on each mask
 * @throws {DataError} for an unreadable image or mask, or sizes that differ
 */
export async function evaluatePairs(
  model: ModelVersion,
  pairs: readonly Pair[],
  precision: Precision,
  progress?: (done: number, row: ImageRow) => void,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  if (pairs.length === 0) throw new DataError("no images to evaluate");
  const rows: ImageRow[] = [];
  let runtime: RuntimeInfo | undefined;
  for (const pair of pairs) {
    let image;
    try {
      image = await decodeImage(await Deno.readFile(pair.image), undefined, DEFAULT_DECODE_LIMITS);
    } catch (err) {
      throw new DataError(`cannot read image ${pair.image}: ${(err as Error).message}`);
    }
    const truth = await readMask(pair.mask);
    if (truth.width !== image.width || truth.height !== image.height) {
      throw new DataError(
        `size mismatch for ${pair.id}: image ${image.width}×${image.height}, mask ${truth.width}×${truth.height}`,
      );
    }
    const result = await segmentImage(model, image, {
      precision,
      postprocess: options.postprocess,
    });
    runtime = result.runtime;
    options.onMask?.(
      result.segmentation.mask,
      truth.data,
      image.width,
      image.height,
      result.segmentation.probability,
    );
    const row: ImageRow = {
      id: pair.id,
      ...imageMetrics(result.segmentation.mask, truth.data, image.width, image.height),
      width: image.width,
      height: image.height,
      inference_ms: result.timings.inference_ms,
    };
    rows.push(row);
    progress?.(rows.length, row);
  }
  return { rows, mean: meanMetrics(rows), n: rows.length, runtime: runtime! };
}
