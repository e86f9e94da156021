/**
 * Decides, on the validation split only, whether a model's masks should keep just their
 * largest region: every image is segmented once without clean-up and scored both ways;
 * the clean-up is chosen when it raises the mean Dice (as nnU-Net picks its
 * post-processing). The test split is never looked at.
 *
 * @module
 */
import { keepLargestComponent } from "../../src/imaging/largest_component.ts";
import { type ImageMetrics, imageMetrics, meanMetrics } from "../../lib/metrics/image_metrics.ts";
import type { ModelVersion, Precision, RuntimeInfo } from "../../src/models/model_version.ts";
import type { Pair } from "./dataset.ts";
import { evaluatePairs, type ImageRow } from "./evaluate.ts";

/** Both scores and the decision. */
export interface PostprocessChoice {
  /** the thresholded masks as the network gave them */
  raw: ImageMetrics;
  /** the same masks with only their largest region kept */
  largestComponent: ImageMetrics;
  /** whether `postprocess.largest_component` should be on */
  chosen: boolean;
  n: number;
  runtime: RuntimeInfo;
}

/**
 * Scores both variants on (validation) pairs and picks the better by mean Dice.
 * @param progress called after each image with the raw row
 */
export async function choosePostprocess(
  model: ModelVersion,
  pairs: readonly Pair[],
  precision: Precision,
  progress?: (done: number, row: ImageRow) => void,
): Promise<PostprocessChoice> {
  const cleaned: ImageMetrics[] = [];
  const result = await evaluatePairs(model, pairs, precision, progress, {
    postprocess: "none",
    onMask: (mask, truth, width, height) =>
      cleaned.push(
        imageMetrics(keepLargestComponent(mask, width, height).mask, truth, width, height),
      ),
  });
  const largestComponent = meanMetrics(cleaned);
  return {
    raw: result.mean,
    largestComponent,
    chosen: largestComponent.dice > result.mean.dice,
    n: result.n,
    runtime: result.runtime,
  };
}
