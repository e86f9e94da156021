/**
 * The CPU-heavy stages of the serving pipeline as plain functions on transferable data,
 * run in a pool worker (src/serving/worker.ts) or, for tools, on the calling thread:
 * `prepare` = decode → preprocess, `finish` = postprocess (threshold, the card's clean-up)
 * → encode (mask PNG, overlay PNG, JSON summary, or the mask for a DICOM SEG).
 *
 * @module
 */
import type { Tensor } from "../engines/engine.ts";
import { decodeImage } from "../imaging/decode.ts";
import { countScans, isJpeg, jpegSize } from "../imaging/decode_jpeg.ts";
import { isPng, pngSize } from "../imaging/decode_png.ts";
import type { DecodedImage, DecodeOptions } from "../imaging/image.ts";
import { keepLargestComponent } from "../imaging/largest_component.ts";
import { postprocess, type Segmentation } from "../imaging/postprocess.ts";
import { type Geometry, preprocess } from "../imaging/preprocess.ts";
import type { InputSpec } from "../models/card.ts";
import { checkModality } from "../models/card_dicom.ts";
import { maskPng } from "../outputs/mask_png.ts";
import { overlayPng } from "../outputs/overlay.ts";
import type { MaskSummary } from "../outputs/summary.ts";

/** Output formats of a segmentation. */
export type SegmentFormat = "png" | "json" | "overlay" | "dicom-seg";

/** What `prepare` needs. */
export interface PrepareInput {
  bytes: Uint8Array;
  mediaType: string | undefined;
  decode: DecodeOptions;
  input: InputSpec;
  /** return the decoded samples too (overlays draw on them) */
  keepPixels: boolean;
  /** the modality guard's data (a callback cannot cross to a worker) */
  modality?: { model: string; modalities: string[] | undefined };
}

/** A decoded image's facts without (or with) its samples. */
export type ImageInfo = Omit<DecodedImage, "data"> & { data?: DecodedImage["data"] };

/** What `prepare` gives back. */
export interface Prepared {
  tensor: Tensor;
  geometry: Geometry;
  image: ImageInfo;
  decode_ms: number;
  preprocess_ms: number;
}

/** Decodes and preprocesses one image. */
export async function prepare(input: PrepareInput): Promise<Prepared> {
  const t0 = performance.now();
  const guard = input.modality;
  const decoded = await decodeImage(input.bytes, input.mediaType, {
    ...input.decode,
    checkDicom: guard
      ? (info) => checkModality(guard.model, guard.modalities, info.modality)
      : undefined,
  });
  const t1 = performance.now();
  const { tensor, geometry } = preprocess(decoded, input.input);
  const t2 = performance.now();
  const image: ImageInfo = { ...decoded };
  if (!input.keepPixels) delete image.data;
  return { tensor, geometry, image, decode_ms: t1 - t0, preprocess_ms: t2 - t1 };
}

/** What `finish` needs. */
export interface FinishInput extends SegmentationInput {
  format: SegmentFormat;
  /** the decoded image (with samples for `overlay`) */
  image: ImageInfo;
  overlay?: { opacity: number; outline: boolean };
}

/** What `finish` gives back: the encoded body, the summary, or the mask. */
export interface Finished {
  png?: Uint8Array;
  summary?: MaskSummary;
  /** `dicom-seg`: the segmentation itself (the SEG is written on the HTTP side) */
  segmentation?: Segmentation;
  postprocess_ms: number;
  encode_ms: number;
}

/** What turns a model output into a mask. */
export interface SegmentationInput {
  output: Tensor;
  geometry: Geometry;
  kind: "logits" | "probabilities";
  threshold: number;
  largestComponent: boolean;
}

/**
 * Threshold at the image's size, then the card's clean-up. The one home of this step for
 * the server (`finish`) and in-process callers (`segmentImage`, tools/evaluate).
 * @param keepProbability also return the probability map (4 bytes a pixel more)
 */
export function toSegmentation(input: SegmentationInput, keepProbability: boolean): Segmentation {
  const segmentation = postprocess(
    input.output,
    input.geometry,
    input.kind,
    input.threshold,
    keepProbability,
  );
  if (input.largestComponent) {
    segmentation.mask =
      keepLargestComponent(segmentation.mask, segmentation.width, segmentation.height, true)
        .mask;
    segmentation.postprocess.push("largest_component");
  }
  return segmentation;
}

/**
 * Thresholds, cleans up and encodes one model output. The JSON summary's module (contours
 * with d3-contour, ~12 ms to load) is imported on the first JSON answer, not at start-up.
 */
export async function finish(input: FinishInput): Promise<Finished> {
  const t0 = performance.now();
  const segmentation = toSegmentation(input, false);
  const t1 = performance.now();
  const out: Finished = { postprocess_ms: t1 - t0, encode_ms: 0 };
  if (input.format === "json") {
    const { summarize } = await import("../outputs/summary.ts");
    out.summary = summarize(segmentation, input.image.pixelSpacingMm);
  } else if (input.format === "dicom-seg") {
    out.segmentation = segmentation;
  } else if (input.format === "overlay") {
    if (!input.image.data) throw new Error("overlay needs the decoded samples");
    out.png = overlayPng(input.image as DecodedImage, segmentation, input.overlay);
  } else out.png = maskPng(segmentation);
  out.encode_ms = performance.now() - t1;
  return out;
}

/**
 * Whether an upload is cheap enough to run on the calling thread: a PNG, or a JPEG of at
 * most 3 scans (baseline), whose header declares at most `maxPixels` (a 512² image is
 * ~5-20 ms of work in all; a worker round trip would cost more than it saves). Anything
 * else (large, progressive, DICOM, unrecognised) goes to a worker.
 */
export function isSmallImage(bytes: Uint8Array, maxPixels: number): boolean {
  try {
    if (isPng(bytes)) {
      const { width, height } = pngSize(bytes);
      return width * height <= maxPixels;
    }
    if (isJpeg(bytes)) {
      const size = jpegSize(bytes);
      return size !== null && size.width * size.height <= maxPixels && countScans(bytes, 3) <= 3;
    }
  } catch { /* a corrupt header: the worker reports it */ }
  return false;
}

/**
 * The buffers a job or result can hand over without copying, each once: its typed arrays', also
 * inside lists of objects (a V2 request's inputs); lists of numbers or of lists (contours) are
 * not walked.
 */
export function transferables(value: unknown): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  const visit = (v: unknown, depth: number) => {
    if (depth > 4 || v === null || typeof v !== "object") return;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) seen.add(v.buffer);
      return;
    }
    if (Array.isArray(v)) {
      const first = v[0];
      if (first === null || typeof first !== "object" || Array.isArray(first)) return;
    }
    for (const x of Object.values(v)) visit(x, depth + 1);
  };
  visit(value, 0);
  return [...seen];
}
