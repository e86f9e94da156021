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
import type { ErrorCode } from "../../errors.ts";
import { parseWindowParam } from "../../imaging/dicom_window.ts";
import { type SegmentOutcome, serverTiming } from "../../serving/pipeline.ts";
import type { SegmentFormat } from "../../serving/stages.ts";
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

export type { SegmentFormat };

/** Picks the output format from `?format=` or the Accept header (PNG mask by default). */
export function chooseFormat(c: Context, query: SegmentQuery): SegmentFormat {
  if (query.format !== undefined) return query.format;
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("image/png") ? "json" : "png";
}

/** Builds the JSON body of a segmentation. */
export function segmentJson(out: SegmentOutcome) {
  const { model, runtime, result, timings } = out;
  return {
    model: model.name,
    version: model.version,
    label: model.card.label,
    engine: runtime.engine,
    precision: runtime.precision,
    ...result.summary,
    model_modalities: model.card.modalities ?? null,
    modality: out.image.dicom ? out.image.dicom.modality : null,
    timings,
  };
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

/** The v1 segmentation routes: HTTP only; the work is the pipeline's. */
export function v1SegmentRoutes({ config, pipeline }: AppContext): OpenAPIHono<AppEnv> {
  const app = openApiApp();
  const handle = async (
    c: Context<AppEnv>,
    query: SegmentQuery,
    name?: string,
    version?: string,
  ) => {
    const format = chooseFormat(c, query);
    const window = query.window === undefined ? undefined : parseWindowParam(query.window);
    // admission before the body is read: unknown model, full queue → refused now
    const signal = requestSignal(c, config.requestTimeoutMs);
    const admission = await pipeline.admit(name, version, query.precision, signal);
    const out = await pipeline.run(admission, () => readImage(c), {
      format,
      // the modality guard: checked once the DICOM is parsed, before its pixels are decoded
      modalityCheck: query.modality_check !== "off",
      window,
      frame: query.frame,
      postprocess: query.postprocess,
      overlay: {
        opacity: query.opacity ?? 0.4,
        outline: query.outline !== "0" && query.outline !== "false",
      },
      signal,
    });
    const { model, runtime, result } = out;
    const headers: Record<string, string> = {
      "X-Model": model.name,
      "X-Model-Version": model.version,
      "X-Engine": runtime.engine,
      "Server-Timing": serverTiming(out.timings),
    };
    if (format === "json") return c.json(segmentJson(out), 200, headers);
    if (format === "dicom-seg" && out.upload && result.segmentation) {
      // the DICOM parser and dcmjs (~25 MB resident) load on the first DICOM SEG request only
      const { readDicomSource } = await import("../../imaging/dicom_source.ts");
      const source = readDicomSource(out.upload.bytes, config.maxPixels * 6 + 16 * 1024 * 1024);
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
    return c.body(result.png as Uint8Array<ArrayBuffer>, 200, {
      ...headers,
      "Content-Type": "image/png",
    });
  };
  const name = z.object({ name: NameParam });
  const nameVersion = z.object({ name: NameParam, version: VersionParam });
  app.openapi(
    segmentRoute("/v1/segment", z.object({}), "Segment an image with the default model"),
    (c) => handle(c, c.req.valid("query")),
  );
  app.openapi(
    segmentRoute(
      "/v1/models/{name}/segment",
      name,
      "Segment an image with a model's latest version",
    ),
    (c) => handle(c, c.req.valid("query"), c.req.valid("param").name),
  );
  app.openapi(
    segmentRoute(
      "/v1/models/{name}/versions/{version}/segment",
      nameVersion,
      "Segment an image with one model version",
    ),
    (c) => {
      const { name, version } = c.req.valid("param");
      return handle(c, c.req.valid("query"), name, version);
    },
  );
  return app;
}
