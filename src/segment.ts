/**
 * The serving path for one image: preprocess → engine (queued) → postprocess. Both the
 * HTTP routes and `tools/evaluate` call this, so measured metrics are the served ones.
 *
 * @module
 */
import type { DecodedImage } from "./imaging/image.ts";
import { keepLargestComponent } from "./imaging/largest_component.ts";
import { postprocess, type Segmentation } from "./imaging/postprocess.ts";
import { preprocess } from "./imaging/preprocess.ts";
import type { ModelVersion, Precision, RuntimeInfo } from "./models/model_version.ts";

/** Milliseconds spent in each stage. */
export interface StageTimings {
  preprocess_ms: number;
  queue_ms: number;
  inference_ms: number;
  postprocess_ms: number;
}

/** A segmentation with what produced it. */
export interface SegmentResult {
  segmentation: Segmentation;
  runtime: RuntimeInfo;
  timings: StageTimings;
}

/** Options of {@link segmentImage}. */
export interface SegmentOptions {
  precision?: Precision;
  /** abandons the run while it still waits in the queue */
  signal?: AbortSignal;
  /** `card` (default): the mask clean-up the card asks for; `none`: the thresholded mask as it is */
  postprocess?: "card" | "none";
}

/** Segments a decoded image with a loaded model version. */
export async function segmentImage(
  model: ModelVersion,
  image: DecodedImage,
  options: SegmentOptions = {},
): Promise<SegmentResult> {
  const card = model.card;
  const t0 = performance.now();
  const { tensor, geometry } = preprocess(image, card.input);
  const t1 = performance.now();
  const { outputs, timings, runtime } = await model.infer(
    { [card.input.name]: tensor },
    options.precision,
    options.signal,
  );
  const t2 = performance.now();
  const output = outputs[card.output.name];
  if (!output) throw new Error(`model produced no "${card.output.name}" output`);
  const segmentation = postprocess(output, geometry, card.output.kind, card.threshold);
  if (options.postprocess !== "none" && card.postprocess.largest_component) {
    segmentation.mask =
      keepLargestComponent(segmentation.mask, segmentation.width, segmentation.height).mask;
    segmentation.postprocess.push("largest_component");
  }
  const t3 = performance.now();
  return {
    segmentation,
    runtime,
    timings: {
      preprocess_ms: round(t1 - t0),
      queue_ms: round(timings.queueMs),
      inference_ms: round(timings.computeMs),
      postprocess_ms: round(t3 - t2),
    },
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
