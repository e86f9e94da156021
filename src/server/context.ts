/**
 * What every route needs: the model registry, the server settings and the segment pipeline.
 *
 * @module
 */
import type { ServerConfig } from "../config.ts";
import type { DicomNode } from "../dicom_node/node.ts";
import type { ModelRegistry } from "../models/registry.ts";
import type { SegmentPipeline } from "../serving/pipeline.ts";

/** Shared state handed to each route module. */
export interface AppContext {
  registry: ModelRegistry;
  config: ServerConfig;
  /** the segment pipeline: admission, then decode … encode in the stage pool's workers */
  pipeline: SegmentPipeline;
  /** the DICOM node behind `/dicomweb/…` (see src/dicom_node/) */
  dicomNode?: DicomNode;
}
