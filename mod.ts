/**
 * TinyUnet Edge: medical image segmentation served from Deno.
 *
 * A model repository (`models/<name>/<version>/model.onnx` + `model.json` card) is loaded
 * onto the best engine the host has (onnxruntime-node, onnxruntime-web WASM or WebGPU)
 * and served over HTTP: `/v1/…/segment` (image in, mask/JSON/overlay out) and the Open
 * Inference Protocol (`/v2/…`).
 *
 * @example Serve the shipped models
 * ```ts
 * import { createApp, loadConfig } from "./mod.ts";
 * const server = createApp(loadConfig());
 * Deno.serve({ port: 8000 }, server.app.fetch);
 * await server.ready;
 * ```
 *
 * @example Segment an image in-process
 * ```ts
 * import { decodeImage, loadModel, segmentImage } from "./mod.ts";
 * const model = await loadModel("models/isic2017/2");
 * const image = await decodeImage(await Deno.readFile("lesion.png"), "image/png", { maxPixels: 1e8 });
 * const { segmentation } = await segmentImage(model, image);
 * console.log(segmentation.mask.reduce((a, b) => a + b, 0), "foreground pixels");
 * ```
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import type { Hono } from "hono";
import { loadConfig, type ServerConfig } from "./src/config.ts";
import { type LoadOptions, ModelVersion } from "./src/models/model_version.ts";
import { ModelRegistry } from "./src/models/registry.ts";
import { readEntry } from "./src/models/repository.ts";
import { DicomNode } from "./src/dicom_node/node.ts";
import { loadDicomNodeConfig } from "./src/dicom_node/config.ts";
import { buildApp } from "./src/server/app.ts";
import { SERVER_INFO } from "./src/server/server_info.ts";
import { log } from "./src/server/log.ts";

export { loadConfig, type ServerConfig } from "./src/config.ts";
export { decodeImage } from "./src/imaging/decode.ts";
export { decodeDicom, type DicomImageInfo, readDicomInfo } from "./src/imaging/decode_dicom.ts";
export type { DecodedImage } from "./src/imaging/image.ts";
export type { Segmentation } from "./src/imaging/postprocess.ts";
export { segmentImage, type SegmentResult } from "./src/segment.ts";
export type { ModelCard } from "./src/models/card.ts";
export { ModelRegistry } from "./src/models/registry.ts";
export { ModelVersion } from "./src/models/model_version.ts";
export type { Engine, EngineName, EngineSession, Tensor } from "./src/engines/engine.ts";
export { selectEngine } from "./src/engines/select.ts";
export { summarize } from "./src/outputs/summary.ts";

/** A running app: the Hono app, its registry, and a promise that settles once every model is warm. */
export interface TinyUnetServer {
  app: Hono;
  registry: ModelRegistry;
  config: ServerConfig;
  /** resolves when every model is loaded and warmed; rejects with the load error */
  ready: Promise<void>;
  /** the DICOM node behind `/dicomweb/…` and the DIMSE listener (see src/dicom_node/) */
  dicomNode: DicomNode;
}

function loadOptions(config: ServerConfig): LoadOptions {
  return { engine: config.engine, threads: config.threads, maxQueue: config.maxQueue };
}

/**
 * Builds the HTTP app and starts loading the model repository in the background.
 * Health is live at once; `/v2/health/ready` turns 200 when every model is warm.
 */
export function createApp(config: ServerConfig = loadConfig()): TinyUnetServer {
  const registry = new ModelRegistry(config.modelsDir, loadOptions(config));
  const dicomNode = new DicomNode(config.dicomNode ?? loadDicomNodeConfig({}), {
    registry,
    maxPixels: config.maxPixels,
    softwareVersion: SERVER_INFO.version,
    concurrency: Math.max(1, Math.floor(config.maxQueue / 2)),
  });
  const app = buildApp({ registry, config, dicomNode });
  const ready = registry.loadAll(config.defaultModel, (mv) => {
    void mv.runtime().then((rt) =>
      log("info", "model loaded", { model: mv.name, version: mv.version, runtime: rt })
    );
  });
  return { app, registry, config, ready, dicomNode };
}

/**
 * Loads one model version folder (`<root>/<name>/<version>`) for in-process use.
 * @param dir the version folder holding `model.json`
 */
export async function loadModel(
  dir: string,
  options: Partial<LoadOptions> = {},
): Promise<ModelVersion> {
  const abs = resolve(dir);
  const entry = await readEntry(dirname(dirname(abs)), basename(dirname(abs)), basename(abs));
  return await ModelVersion.load(entry, { ...loadOptions(loadConfig({})), ...options });
}
