/**
 * The node's work on one received instance (from C-STORE or STOW-RS): read its header,
 * route it by Modality, decode and segment every frame through `/v1`'s pipeline
 * (`SegmentPipeline.segment`: decode and preprocess, then threshold and the card's clean-up,
 * in the stage pool's workers, so a large compressed frame never stalls the event loop; the
 * card's precision), and write one SEG.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { maxInflatedBytes, readDicomInfo } from "../imaging/decode_dicom.ts";
import { type DicomSource, readDicomSource } from "../imaging/dicom_source.ts";
import type { Segmentation } from "../imaging/postprocess.ts";
import type { ModelVersion } from "../models/model_version.ts";
import type { SegmentPipeline } from "../serving/pipeline.ts";
import { routeModality } from "./routing.ts";
import { segForFrames } from "./seg_frames.ts";
import { newSegUids } from "../outputs/dicom_seg.ts";

/** What the node reads from an instance's header. */
export interface InstanceFacts {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality?: string;
  frames: number;
  transferSyntax: string;
}

/** A SEG the node made. */
export interface MadeSeg {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
}

/** What happened to an instance. */
export type InstanceOutcome =
  | {
    kind: "segmented";
    facts: InstanceFacts;
    model: ModelVersion;
    /** chosen by TINYUNET_DIMSE_ROUTES or by the card's modalities */
    routedBy: "route" | "card";
    seg: MadeSeg;
    ms: number;
  }
  | { kind: "not_routed"; facts: InstanceFacts; reason: string };

/** What segmenting needs. */
export interface SegmentDeps {
  /** the `/v1` pipeline: its registry, pixel limit and stage pool */
  pipeline: SegmentPipeline;
  routes: Record<string, string>;
  /** abandons runs still queued */
  signal?: AbortSignal;
  softwareVersion: string;
}

/** All frames of one instance together may hold this many times `maxPixels` (masks are kept until the SEG is written). */
export const MAX_FRAMES_PIXELS_FACTOR = 4;

/**
 * Reads an instance's header (UIDs, Modality, frames).
 * @param source the instance already parsed (else parsed here)
 * @throws {ApiError} `bad_dicom` when unreadable or a UID is missing
 */
export function readFacts(
  bytes: Uint8Array,
  maxPixels: number,
  source: DicomSource = readDicomSource(bytes, maxInflatedBytes(maxPixels)),
): InstanceFacts {
  const info = readDicomInfo(bytes, { maxPixels });
  return {
    sopClassUid: source.sopClassUid,
    sopInstanceUid: source.sopInstanceUid,
    studyInstanceUid: source.studyInstanceUid,
    seriesInstanceUid: source.seriesInstanceUid,
    modality: info.modality || undefined,
    frames: Math.max(1, info.frames),
    transferSyntax: info.transferSyntax,
  };
}

/**
 * Routes, segments every frame and writes the SEG of one DICOM Part 10 instance.
 * @throws {ApiError} for an instance that cannot be decoded or segmented
 */
export async function segmentInstance(
  bytes: Uint8Array,
  deps: SegmentDeps,
): Promise<InstanceOutcome> {
  const t0 = performance.now();
  const { maxPixels } = deps.pipeline.settings;
  const source = readDicomSource(bytes, maxInflatedBytes(maxPixels));
  const facts = readFacts(bytes, maxPixels, source);
  const route = routeModality(facts.modality, deps.pipeline.registry, deps.routes);
  if (!route.model) return { kind: "not_routed", facts, reason: route.reason };
  const model = route.model;
  if (source.rows * source.columns * facts.frames > MAX_FRAMES_PIXELS_FACTOR * maxPixels) {
    throw new ApiError(
      "too_many_pixels",
      `${facts.frames} frames of ${source.columns}×${source.rows} exceed ${MAX_FRAMES_PIXELS_FACTOR}× TINYUNET_MAX_PIXELS in all`,
    );
  }
  // one copy in shared memory that every frame's job reads (a worker takes what it is
  // given; `source` keeps views into `bytes` for the SEG), not a copy per frame
  const shared = sharedCopy(bytes);
  const masks: Segmentation[] = [];
  for (let frame = 1; frame <= facts.frames; frame++) {
    masks.push(await segmentFrame(shared, facts.frames > 1 ? frame : undefined, model, deps));
  }
  const uids = newSegUids();
  const segBytes = segForFrames(source, masks, {
    modelName: model.name,
    modelVersion: model.version,
    label: model.card.label,
    trained: model.card.trained,
    softwareVersion: deps.softwareVersion,
  }, uids);
  return {
    kind: "segmented",
    facts,
    model,
    routedBy: route.by,
    seg: { bytes: segBytes, ...uids, studyInstanceUid: source.studyInstanceUid },
    ms: Math.round((performance.now() - t0) * 100) / 100,
  };
}

/** `bytes` copied into a SharedArrayBuffer: posted to a worker, it is shared, not copied. */
function sharedCopy(bytes: Uint8Array): Uint8Array<SharedArrayBuffer> {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  return shared;
}

/** Decodes, segments and cleans up one frame (1-based; undefined for a single-frame instance). */
async function segmentFrame(
  bytes: Uint8Array<SharedArrayBuffer>,
  frame: number | undefined,
  model: ModelVersion,
  deps: SegmentDeps,
): Promise<Segmentation> {
  const { result } = await deps.pipeline.segment(
    model,
    undefined, // the card's precision
    { bytes, mediaType: "application/dicom" },
    { format: "dicom-seg", frame, signal: deps.signal },
  );
  if (!result.segmentation) throw new Error("the pipeline returned no segmentation");
  return result.segmentation;
}
