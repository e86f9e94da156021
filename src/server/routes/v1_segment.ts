/**
 * `POST /v1/segment` (default model), `POST /v1/models/{name}/segment` and
 * `POST /v1/models/{name}/versions/{version}/segment`: an image in (multipart `image`
 * field or a raw PNG/JPEG/DICOM body), a mask PNG, JSON, overlay PNG or DICOM
 * Segmentation out.
 *
 * Query: `format=png|json|overlay|dicom-seg` (else chosen from `Accept`),
 * `precision=fp32|int8`, `opacity=0..1`, `outline=0|1` (overlay), `window=center,width`
 * and `frame=N` (DICOM), `postprocess=card|none`. `dicom-seg` needs a DICOM input (422 otherwise): the
 * segmentation must reference its source instance and join its patient and study.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError, type ErrorCode } from "../../errors.ts";
import { decodeImage } from "../../imaging/decode.ts";
import { readDicomSource } from "../../imaging/dicom_source.ts";
import { parseWindowParam } from "../../imaging/dicom_window.ts";
import type { DecodedImage } from "../../imaging/image.ts";
import { checkModality } from "../../models/card_dicom.ts";
import type { ModelVersion, Precision } from "../../models/model_version.ts";
import { maskPng } from "../../outputs/mask_png.ts";
import { overlayPng } from "../../outputs/overlay.ts";
import { summarize } from "../../outputs/summary.ts";
import { segmentImage, type SegmentResult } from "../../segment.ts";
import type { AppContext } from "../context.ts";
import type { AppEnv } from "../env.ts";
import { errorResponses, NameParam, openApiApp, VersionParam } from "../openapi_app.ts";
import {
  binary,
  SegmentJsonSchema,
  type SegmentQuery,
  SegmentQuerySchema,
} from "../openapi_schemas.ts";
import { readImage } from "../read_image.ts";
import { requestSignal } from "../request_signal.ts";
import { SERVER_INFO } from "../server_info.ts";

/** Output formats of the segment route. */
export type SegmentFormat = "png" | "json" | "overlay" | "dicom-seg";

/** Picks the output format from `?format=` or the Accept header (PNG mask by default). */
export function chooseFormat(c: Context, query: SegmentQuery): SegmentFormat {
  if (query.format !== undefined) return query.format;
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("image/png") ? "json" : "png";
}

/** Checks `?precision=` against what the model has. */
export function choosePrecision(query: SegmentQuery, model: ModelVersion): Precision {
  const q = query.precision;
  if (q === undefined || q === "") return model.card.precision;
  if (!model.precisions.includes(q)) {
    throw new ApiError("model_not_found", `${model.name}/${model.version} has no ${q} model`);
  }
  return q;
}

/** Builds the JSON body of a segmentation. */
export function segmentJson(
  model: ModelVersion,
  image: DecodedImage,
  result: SegmentResult,
  decodeMs: number,
) {
  return {
    model: model.name,
    version: model.version,
    label: model.card.label,
    engine: result.runtime.engine,
    precision: result.runtime.precision,
    ...summarize(result.segmentation, image.pixelSpacingMm),
    model_modalities: model.card.modalities ?? null,
    modality: image.dicom ? image.dicom.modality : null,
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

const ERRORS: ErrorCode[] = [
  "bad_request",
  "bad_image",
  "bad_dicom",
  "model_not_found",
  "too_many_pixels",
  "unsupported_media_type",
  "unsupported_transfer_syntax",
  "unsupported_image",
  "modality_mismatch",
  "model_not_ready",
  "queue_full",
  "timeout",
];

const imageBody = {
  required: true,
  description:
    "the image: a multipart form with an `image` (or `file`) part, or the raw bytes with their Content-Type " +
    "(application/octet-stream or none: the format is recognised from the bytes)",
  content: {
    "multipart/form-data": {
      schema: {
        type: "object" as const,
        properties: { image: binary("PNG, JPEG or DICOM file") },
        required: ["image"],
      },
    },
    "image/png": { schema: binary("PNG (1-16 bit, grey, RGB, palette; alpha dropped)") },
    "image/jpeg": { schema: binary("baseline or progressive JPEG") },
    "application/dicom": {
      schema: binary(
        "DICOM Part 10, uncompressed (implicit/explicit VR little endian, big endian, deflated)",
      ),
    },
    "application/octet-stream": { schema: binary("any of the above") },
  },
};

const modelHeaders = {
  "X-Model": { schema: { type: "string" as const }, description: "model that answered" },
  "X-Model-Version": { schema: { type: "string" as const } },
  "X-Engine": { schema: { type: "string" as const } },
  "Server-Timing": {
    schema: { type: "string" as const },
    description: "decode, preprocess, queue, inference, postprocess durations",
  },
};

function segmentRoute<P extends z.ZodObject>(path: string, params: P, summary: string) {
  return createRoute({
    method: "post",
    path,
    tags: ["segment"],
    summary,
    request: { params, query: SegmentQuerySchema, body: imageBody },
    responses: {
      200: {
        description: "the segmentation, in the asked format",
        headers: modelHeaders,
        content: {
          "image/png": {
            schema: binary(
              "format=png: mask, 0 background / 255 foreground; format=overlay: RGB image with the mask drawn on it",
            ),
          },
          "application/json": { schema: SegmentJsonSchema },
          "application/dicom": {
            schema: binary("format=dicom-seg: DICOM Segmentation (BINARY, one segment)"),
          },
        },
      },
      ...errorResponses(ERRORS),
    },
  });
}

/** The v1 segmentation routes. */
export function v1SegmentRoutes({ registry, config }: AppContext): OpenAPIHono<AppEnv> {
  const app = openApiApp();
  const handle = async (c: Context<AppEnv>, query: SegmentQuery, model: ModelVersion) => {
    const precision = choosePrecision(query, model);
    const format = chooseFormat(c, query);
    const window = query.window === undefined ? undefined : parseWindowParam(query.window);
    const upload = await readImage(c);
    const t0 = performance.now();
    const image = await decodeImage(upload.bytes, upload.mediaType, {
      maxPixels: config.maxPixels,
      window,
      frame: query.frame,
      // the modality guard: checked once the DICOM is parsed, before its pixels are decoded
      checkDicom: query.modality_check === "off"
        ? undefined
        : (info) => checkModality(model.name, model.card.modalities, info.modality),
    });
    const decodeMs = performance.now() - t0;
    if (format === "dicom-seg" && image.source !== "dicom") {
      throw new ApiError(
        "unsupported_image",
        `format=dicom-seg needs a DICOM input (the segmentation references its source image and study); this is ${image.source.toUpperCase()}: use png, json or overlay`,
      );
    }
    const result = await segmentImage(model, image, {
      precision,
      signal: requestSignal(c, config.requestTimeoutMs),
      postprocess: query.postprocess,
    });
    const headers: Record<string, string> = {
      "X-Model": model.name,
      "X-Model-Version": model.version,
      "X-Engine": result.runtime.engine,
      "Server-Timing": serverTiming(result, decodeMs),
    };
    if (format === "json") return c.json(segmentJson(model, image, result, decodeMs), 200, headers);
    if (format === "dicom-seg") {
      const source = readDicomSource(upload.bytes, config.maxPixels * 6 + 16 * 1024 * 1024);
      // dcmjs is large (~25 MB resident): loaded on the first DICOM SEG request only.
      const { dicomSeg } = await import("../../outputs/dicom_seg.ts");
      const seg = dicomSeg(source, result.segmentation, {
        modelName: model.name,
        modelVersion: model.version,
        label: model.card.label,
        trained: model.card.trained,
        softwareVersion: SERVER_INFO.version,
        sourceFrame: query.frame,
        segment: model.card.segment,
        algorithm: model.card.algorithm,
      });
      return c.body(seg as Uint8Array<ArrayBuffer>, 200, {
        ...headers,
        "Content-Type": "application/dicom",
        "Content-Disposition": `attachment; filename="${model.name}-${model.version}-seg.dcm"`,
      });
    }
    const png = format === "overlay"
      ? overlayPng(image, result.segmentation, {
        opacity: query.opacity ?? 0.4,
        outline: query.outline !== "0" && query.outline !== "false",
      })
      : maskPng(result.segmentation);
    return c.body(png as Uint8Array<ArrayBuffer>, 200, { ...headers, "Content-Type": "image/png" });
  };
  const name = z.object({ name: NameParam });
  const nameVersion = z.object({ name: NameParam, version: VersionParam });
  app.openapi(
    segmentRoute("/v1/segment", z.object({}), "Segment an image with the default model"),
    (c) => handle(c, c.req.valid("query"), registry.get(undefined)),
  );
  app.openapi(
    segmentRoute(
      "/v1/models/{name}/segment",
      name,
      "Segment an image with a model's latest version",
    ),
    (c) => handle(c, c.req.valid("query"), registry.get(c.req.valid("param").name)),
  );
  app.openapi(
    segmentRoute(
      "/v1/models/{name}/versions/{version}/segment",
      nameVersion,
      "Segment an image with one model version",
    ),
    (c) => {
      const { name, version } = c.req.valid("param");
      return handle(c, c.req.valid("query"), registry.get(name, version));
    },
  );
  return app;
}
