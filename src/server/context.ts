/**
 * What every route needs: the model registry, the server settings and the stage pool.
 *
 * @module
 */
import type { ServerConfig } from "../config.ts";
import type { DicomNode } from "../dicom_node/node.ts";
import type { ModelRegistry } from "../models/registry.ts";
import type { StagePool } from "../serving/pool.ts";

/** Shared state handed to each route module. */
export interface AppContext {
  registry: ModelRegistry;
  config: ServerConfig;
  /** the workers of the CPU-heavy stages (decode, preprocess, postprocess, encode) */
  pool: StagePool;
  /** the DICOM node behind `/dicomweb/…` (see src/dicom_node/) */
  dicomNode?: DicomNode;
}
