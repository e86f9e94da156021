/**
 * `POST /v1/segment` (default model), `POST /v1/models/{name}/segment` and
 * `POST /v1/models/{name}/versions/{version}/segment`: an image in (multipart `image`
 * field or a raw PNG/JPEG body), a mask PNG, JSON or overlay PNG out.
 *
 * Query: `format=png|json|overlay` (else chosen from `Accept`), `precision=fp32|int8`,
 * `opacity=0..1`, `outline=0|1` (overlay).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { ApiError } from "../../errors.ts";
import { decodeImage } from "../../imaging/decode.ts";
import type { DecodedImage } from "../../imaging/image.ts";
import type { ModelVersion, Precision } from "../../models/model_version.ts";
import { maskPng } from "../../outputs/mask_png.ts";
import { overlayPng } from "../../outputs/overlay.ts";
import { summarize } from "../../outputs/summary.ts";
import { type SegmentResult, segmentImage } from "../../segment.ts";
import type { AppContext } from "../context.ts";
import { readImage } from "../read_image.ts";

/** Output formats of the segment route. */
export type SegmentFormat = "png" | "json" | "overlay";

const FORMATS: readonly string[] = ["png", "json", "overlay"];

/** Picks the output format from `?format=` or the Accept header (PNG mask by default). */
export function chooseFormat(c: Context): SegmentFormat {
  const q = c.req.query("format");
  if (q !== undefined) {
    if (!FORMATS.includes(q)) throw new ApiError("bad_request", `unknown format "${q.slice(0, 40)}"; use ${FORMATS.join(", ")}`);
    return q as SegmentFormat;
  }
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("image/png") ? "json" : "png";
}

/** Checks `?precision=` against what the model has. */
export function choosePrecision(c: Context, model: ModelVersion): Precision {
  const q = c.req.query("precision");
  if (q === undefined || q === "") return model.card.precision;
  if (q !== "fp32" && q !== "int8") throw new ApiError("bad_request", `unknown precision "${q.slice(0, 40)}"; use fp32 or int8`);
  if (!model.precisions.includes(q)) throw new ApiError("model_not_found", `${model.name}/${model.version} has no ${q} model`);
  return q;
}

function parseFraction(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new ApiError("bad_request", `${name} must be a number from 0 to 1`);
  return v;
}

/** Builds the JSON body of a segmentation. */
export function segmentJson(model: ModelVersion, image: DecodedImage, result: SegmentResult, decodeMs: number) {
  return {
    model: model.name,
    version: model.version,
    label: model.card.label,
    engine: result.runtime.engine,
    precision: result.runtime.precision,
    ...summarize(result.segmentation, image.pixelSpacingMm),
    timings: { decode_ms: Math.round(decodeMs * 100) / 100, ...result.timings },
  };
}

function serverTiming(result: SegmentResult, decodeMs: number): string {
  const t = result.timings;
  return [
    `decode;dur=${decodeMs.toFixed(2)}`,
    `preprocess;dur=${t.preprocess_ms}`,
    `queue;dur=${t.queue_ms}`,
    `inference;dur=${t.inference_ms}`,
    `postprocess;dur=${t.postprocess_ms}`,
  ].join(", ");
}

/** The v1 segmentation routes. */
export function v1SegmentRoutes({ registry, config }: AppContext): Hono {
  const app = new Hono();
  const handle = async (c: Context, name?: string, version?: string) => {
    const model = registry.get(name, version);
    const precision = choosePrecision(c, model);
    const format = chooseFormat(c);
    const opacity = parseFraction(c.req.query("opacity"), "opacity", 0.4);
    const upload = await readImage(c);
    const t0 = performance.now();
    const image = await decodeImage(upload.bytes, upload.mediaType, { maxPixels: config.maxPixels });
    const decodeMs = performance.now() - t0;
    const deadline = AbortSignal.timeout(config.requestTimeoutMs);
    const result = await segmentImage(model, image, { precision, signal: deadline });
    const headers: Record<string, string> = {
      "X-Model": model.name,
      "X-Model-Version": model.version,
      "X-Engine": result.runtime.engine,
      "Server-Timing": serverTiming(result, decodeMs),
    };
    if (format === "json") return c.json(segmentJson(model, image, result, decodeMs), 200, headers);
    const png = format === "overlay"
      ? overlayPng(image, result.segmentation, { opacity, outline: c.req.query("outline") !== "0" })
      : maskPng(result.segmentation);
    return c.body(png as Uint8Array<ArrayBuffer>, 200, { ...headers, "Content-Type": "image/png" });
  };
  app.post("/v1/segment", (c) => handle(c));
  app.post("/v1/models/:name/segment", (c) => handle(c, c.req.param("name")));
  app.post("/v1/models/:name/versions/:version/segment", (c) => handle(c, c.req.param("name"), c.req.param("version")));
  return app;
}
