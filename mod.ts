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
 * const model = await loadModel("models/isic2017/3");
 * const image = await decodeImage(await Deno.readFile("lesion.png"), "image/png", { maxPixels: 1e8 });
 * const { segmentation } = await segmentImage(model, image);
 * console.log(segmentation.mask.reduce((a, b) => a + b, 0), "foreground pixels");
 * ```
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import { loadConfig } from "./src/config.ts";
import { type LoadOptions, ModelVersion } from "./src/models/model_version.ts";
import { readEntry } from "./src/models/repository.ts";
import { loadOptions } from "./src/start.ts";

export { loadConfig, type ServerConfig } from "./src/config.ts";
export { createApp, type StartedServer, startServer, type TinyUnetServer } from "./src/start.ts";
export { decodeImage } from "./src/imaging/decode.ts";
export { decodeDicom, readDicomInfo } from "./src/imaging/decode_dicom.ts";
export type { DicomImageInfo } from "./src/imaging/image.ts";
export type { DecodedImage } from "./src/imaging/image.ts";
export type { Segmentation } from "./src/imaging/postprocess.ts";
export { segmentImage, type SegmentResult } from "./src/segment.ts";
export type { ModelCard } from "./src/models/card.ts";
export { ModelRegistry } from "./src/models/registry.ts";
export { ModelVersion } from "./src/models/model_version.ts";
export type { Engine, EngineName, EngineSession, Tensor } from "./src/engines/engine.ts";
export { selectEngine } from "./src/engines/select.ts";
export { summarize } from "./src/outputs/summary.ts";
export type { AppEnv } from "./src/server/env.ts";

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
