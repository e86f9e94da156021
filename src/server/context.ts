/**
 * What every route needs: the model registry and the server settings.
 *
 * @module
 */
import type { ServerConfig } from "../config.ts";
import type { DicomNode } from "../dicom_node/node.ts";
import type { ModelRegistry } from "../models/registry.ts";

/** Shared state handed to each route module. */
export interface AppContext {
  registry: ModelRegistry;
  config: ServerConfig;
  /** the DICOM node behind `/dicomweb/…` (see src/dicom_node/) */
  dicomNode?: DicomNode;
}
