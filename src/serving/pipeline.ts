/**
 * The serving pipeline for one image, start to end, with one timings object:
 *
 * 1. **admit** (before the body is read, ≤ 1 ms): the model and version exist, the
 *    precision is there, and a place in that model's queue is reserved — a request that
 *    cannot be served is refused here (404, 503 `queue_full`), never after its upload was
 *    read and decoded;
 * 2. **read** the body (bounded by the body limit and the request deadline);
 * 3. **prepare** in a pool worker: decode (within the {@link DecodeBudget} derived from
 *    `TINYUNET_MAX_PIXELS`) → preprocess;
 * 4. **infer** with the reserved place (engine queue);
 * 5. **finish** in a pool worker: postprocess → encode.
 *
 * Every stage takes the request's signal: at the deadline or when the client leaves, a
 * waiting stage is dropped and a running worker is terminated. Routes keep only HTTP.
 *
 * @module
 */
import { giveTensor } from "../memory/tensor_pool.ts";
import type { QueueTicket } from "../models/queue.ts";
import { ApiError } from "../errors.ts";
import type { ModelVersion, Precision, RuntimeInfo } from "../models/model_version.ts";
import type { ModelRegistry } from "../models/registry.ts";
import { admit, readBody } from "./admission.ts";
import type { StagePool } from "./pool.ts";
import type { Finished, ImageInfo, SegmentFormat } from "./stages.ts";

/** Milliseconds per stage (one object for the JSON body, Server-Timing and logs). */
export interface Timings {
  read_ms: number;
  decode_ms: number;
  preprocess_ms: number;
  queue_ms: number;
  inference_ms: number;
  postprocess_ms: number;
  encode_ms: number;
}

/** A request let in: its model and a reserved queue place (release it if not run). */
export interface Admission {
  model: ModelVersion;
  precision: Precision;
  ticket: QueueTicket;
  admittedAt: number;
}

/** An uploaded image before decoding. */
export interface Upload {
  bytes: Uint8Array;
  mediaType: string | undefined;
}

/** Per-request options. */
export interface SegmentOptions {
  format: SegmentFormat;
  /** refuse a DICOM whose Modality the card does not list (checked before its pixels) */
  modalityCheck?: boolean;
  window?: [number, number];
  frame?: number;
  postprocess?: "card" | "none";
  overlay?: { opacity: number; outline: boolean };
  /** the request deadline / client disconnect */
  signal: AbortSignal;
}

/** What the pipeline produced. */
export interface SegmentOutcome {
  model: ModelVersion;
  runtime: RuntimeInfo;
  image: ImageInfo;
  result: Finished;
  timings: Timings;
  /** the upload, kept only for `dicom-seg` (the SEG references its source) */
  upload?: Upload;
}

/** Settings the pipeline reads. */
export interface PipelineSettings {
  maxPixels: number;
  /** hold a `queue_full` refusal this long (see src/serving/admission.ts) */
  busyDelayMs?: number;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The pipeline of the v1 segment routes. */
export class SegmentPipeline {
  constructor(
    readonly registry: ModelRegistry,
    readonly pool: StagePool,
    readonly settings: PipelineSettings,
  ) {}

  /**
   * Admission: looks the model up and reserves its queue place. Call before reading the body.
   * @throws {ApiError} 404 unknown model/version/precision, 503 loading
   * @throws {QueueFullError} 503 when the model's queue is full
   */
  async admit(
    name?: string,
    version?: string,
    precision?: string,
    signal?: AbortSignal,
  ): Promise<Admission> {
    const model = this.registry.get(name, version);
    const chosen = choosePrecision(precision, model);
    const ticket = await admit(model, chosen, this.settings.busyDelayMs ?? 0, signal);
    return { model, precision: chosen, ticket, admittedAt: performance.now() };
  }

  /** Reads, prepares, infers and finishes one admitted request. */
  async run(
    admission: Admission,
    read: () => Promise<Upload>,
    options: SegmentOptions,
  ): Promise<SegmentOutcome> {
    const { model, precision, ticket } = admission;
    try {
      const t0 = performance.now();
      const upload = await readBody(read, options.signal);
      const t1 = performance.now();
      const keepUpload = options.format === "dicom-seg";
      // the worker takes the bytes (transferred); a DICOM SEG needs them afterwards
      const bytes = keepUpload ? upload.bytes.slice() : upload.bytes;
      const { prepared, result, runtime, timings } = await this.segment(
        model,
        precision,
        { bytes, mediaType: upload.mediaType },
        options,
        ticket,
      );
      return {
        model,
        runtime,
        image: prepared.image,
        result,
        upload: keepUpload ? upload : undefined,
        timings: {
          read_ms: round(t1 - t0),
          decode_ms: round(prepared.decode_ms),
          preprocess_ms: round(prepared.preprocess_ms),
          queue_ms: round(timings.queueMs),
          inference_ms: round(timings.computeMs),
          postprocess_ms: round(result.postprocess_ms),
          encode_ms: round(result.encode_ms),
        },
      };
    } finally {
      ticket.release();
    }
  }

  /**
   * Stages 3-5 for an upload already read: prepare in a worker, infer, finish in a worker.
   * The upload's bytes go to the worker (transferred): pass a copy to keep them. Also the
   * DICOM node's path (src/dicom_node/segment_instance.ts), one frame at a time.
   * @param ticket the queue place reserved at admission (none: the run queues on its own)
   */
  async segment(
    model: ModelVersion,
    precision: Precision | undefined,
    upload: Upload,
    options: Omit<SegmentOptions, "signal"> & { signal?: AbortSignal },
    ticket?: QueueTicket,
  ) {
    const { signal } = options;
    const prepared = await this.pool.prepare({
      bytes: upload.bytes,
      mediaType: upload.mediaType,
      decode: { maxPixels: this.settings.maxPixels, window: options.window, frame: options.frame },
      input: model.card.input,
      modality: options.modalityCheck
        ? { model: model.name, modalities: model.card.modalities }
        : undefined,
      keepPixels: options.format === "overlay",
    }, signal);
    if (options.format === "dicom-seg" && prepared.image.source !== "dicom") {
      throw new ApiError(
        "unsupported_image",
        `format=dicom-seg needs a DICOM input (the segmentation references its source image and study); this is ${prepared.image.source.toUpperCase()}: use png, json or overlay`,
      );
    }
    const card = model.card;
    const { outputs, timings, runtime } = await model.infer(
      { [card.input.name]: prepared.tensor },
      precision,
      signal,
      ticket,
    );
    // the run has read it: the next request of this size writes into it
    giveTensor(prepared.tensor.data);
    const output = outputs[card.output.name];
    if (!output) throw new Error(`model produced no "${card.output.name}" output`);
    const result = await this.pool.finish({
      output,
      geometry: prepared.geometry,
      kind: card.output.kind,
      threshold: card.threshold,
      largestComponent: options.postprocess !== "none" && card.postprocess.largest_component,
      format: options.format,
      image: prepared.image,
      overlay: options.overlay,
    }, signal);
    // read (a DICOM SEG's segmentation, returned, may still read its probabilities from it):
    // the next run of this size writes into it
    if (options.format !== "dicom-seg") giveTensor(output.data);
    return { prepared, result, runtime, timings };
  }
}

/** Checks a `?precision=` against what the model has (the card's default when empty). */
export function choosePrecision(query: string | undefined, model: ModelVersion): Precision {
  if (query === undefined || query === "") return model.card.precision;
  if (!(model.precisions as string[]).includes(query)) {
    throw new ApiError("model_not_found", `${model.name}/${model.version} has no ${query} model`);
  }
  return query as Precision;
}

/** The `Server-Timing` header of a run. */
export function serverTiming(t: Timings): string {
  return [
    `read;dur=${t.read_ms}`,
    `decode;dur=${t.decode_ms}`,
    `preprocess;dur=${t.preprocess_ms}`,
    `queue;dur=${t.queue_ms}`,
    `inference;dur=${t.inference_ms}`,
    `postprocess;dur=${t.postprocess_ms}`,
    `encode;dur=${t.encode_ms}`,
  ].join(", ");
}
