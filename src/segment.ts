/**
 * The serving path for one decoded image, in process: preprocess → engine (queued) →
 * threshold and clean-up, with the same stage functions as the HTTP pipeline
 * (src/serving: `preprocess`, `toSegmentation`), so what `tools/evaluate` measures is what
 * the server answers. The server itself runs src/serving/pipeline.ts (admission, bounded
 * decoding, worker pool).
 *
 * @module
 */
import type { DecodedImage } from "./imaging/image.ts";
import type { Segmentation } from "./imaging/postprocess.ts";
import { toSegmentation } from "./serving/stages.ts";
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
  const segmentation = toSegmentation({
    output,
    geometry,
    kind: card.output.kind,
    threshold: card.threshold,
    largestComponent: options.postprocess !== "none" && card.postprocess.largest_component,
  }, true);
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
