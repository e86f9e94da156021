/**
 * Zod schemas of the API's JSON bodies and query strings, shared by the route
 * definitions (validation) and the generated OpenAPI document (description).
 *
 * @module
 */
import { z } from "@hono/zod-openapi";

/** A binary body or response of the given kind. */
export const binary = (description: string) => ({
  type: "string" as const,
  format: "binary",
  description,
});

/** Query of the segment routes. */
export const SegmentQuerySchema = z.object({
  format: z.enum(["png", "json", "overlay", "dicom-seg"]).optional().openapi({
    description:
      "png: mask (0/255 greyscale PNG); json: areas, bbox, COCO RLE, contours, timings; overlay: the image with the mask drawn on it (PNG); " +
      "dicom-seg: a DICOM Segmentation referencing the source (DICOM input only). Default: json when Accept asks for application/json, else png.",
  }),
  precision: z.enum(["fp32", "int8"]).or(z.literal("")).optional().openapi({
    description: "model file to run (default: the card's precision)",
  }),
  opacity: z.string().regex(
    /^(?:0|1|0?\.\d+|[01]\.\d*)$/,
    "opacity must be a decimal number from 0 to 1",
  ).transform(Number)
    .pipe(z.number().min(0).max(1)).optional().openapi({
      description: "overlay fill opacity, 0 to 1 (default 0.4)",
      example: "0.4",
    }),
  outline: z.enum(["0", "1", "true", "false"]).optional().openapi({
    description: "overlay: draw the boundary in full colour (default 1)",
  }),
  window: z.string().optional().openapi({
    description:
      "greyscale DICOM: `center,width` window in rescaled units, overriding the file's first window (without either: min/max of the pixels)",
    example: "40,400",
  }),
  postprocess: z.enum(["card", "none"]).optional().openapi({
    description:
      "card (default): the mask clean-up the model card asks for (e.g. keep the largest region); none: the thresholded mask as the network gave it",
  }),
  frame: z.coerce.number().int().min(1).optional().openapi({
    description:
      "DICOM: 1-based frame of a multi-frame object (required when it has more than one)",
  }),
  modality_check: z.enum(["on", "off"]).optional().openapi({
    description:
      "DICOM: on (default) refuses an image whose Modality (0008,0060) is not one the model's card lists (422 modality_mismatch); off runs the model anyway",
  }),
});
/** Parsed segment query. */
export type SegmentQuery = z.infer<typeof SegmentQuerySchema>;

/** Contour polygons: `[x, y]` pixel-corner vertices. */
const PolygonSchema = z.array(z.tuple([z.number(), z.number()]));

/** JSON answer of the segment routes. */
export const SegmentJsonSchema = z.object({
  model: z.string(),
  version: z.string(),
  label: z.string(),
  engine: z.string(),
  precision: z.enum(["fp32", "int8"]),
  width: z.number().int(),
  height: z.number().int(),
  threshold: z.number(),
  postprocess: z.array(z.string()).openapi({
    description: "mask clean-up applied after the threshold (e.g. largest_component)",
  }),
  foreground_fraction: z.number(),
  pixel_area: z.number().int().openapi({ description: "foreground pixels" }),
  area_mm2: z.number().nullable().openapi({
    description:
      "foreground area in mm² when the pixel spacing is known (DICOM Pixel Spacing or the card)",
  }),
  pixel_spacing_mm: z.tuple([z.number(), z.number()]).nullable(),
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).nullable().openapi({
    description: "[x, y, width, height]",
  }),
  rle: z.object({ size: z.tuple([z.number(), z.number()]), counts: z.string() }).openapi({
    description: "COCO RLE (column-major, [height, width])",
  }),
  contours: z.array(PolygonSchema),
  model_modalities: z.array(z.string()).nullable().openapi({
    description: "DICOM Modality codes the model is for (from its card); null: not stated",
  }),
  modality: z.string().nullable().openapi({
    description: "the input's DICOM Modality (null for PNG/JPEG)",
  }),
  timings: z.object({
    decode_ms: z.number(),
    preprocess_ms: z.number(),
    queue_ms: z.number(),
    inference_ms: z.number(),
    postprocess_ms: z.number(),
  }),
}).openapi("SegmentResult");

/** Engine facts of a loaded model. */
export const RuntimeSchema = z.object({
  engine: z.string(),
  threads: z.number(),
  reason: z.string(),
  notes: z.array(z.string()),
  precision: z.enum(["fp32", "int8"]),
  file: z.string(),
  ops: z.array(z.string()),
  parameters: z.number(),
}).openapi("Runtime");

/** `GET /v1/models`. */
export const ModelListSchema = z.object({
  default_model: z.string().nullable(),
  models: z.array(z.object({
    name: z.string(),
    title: z.string(),
    label: z.string(),
    trained: z.boolean().openapi({
      description: "false for untrained placeholders whose masks mean nothing",
    }),
    modalities: z.array(z.string()).nullable().openapi({
      description:
        "DICOM Modality codes the model is for (DICOM of other modalities is refused); null: any",
    }),
    default: z.boolean(),
    latest_version: z.string(),
    versions: z.array(z.string()),
    runtime: z.array(RuntimeSchema),
  })),
}).openapi("ModelList");

/** One model version with its card. */
export const ModelVersionSchema = z.object({
  name: z.string(),
  version: z.string(),
  card: z.record(z.string(), z.unknown()).openapi({
    description: "the model card (model.json), validated",
  }),
  precisions: z.array(z.enum(["fp32", "int8"])),
  runtime: z.array(RuntimeSchema),
  queue_depth: z.unknown(),
  loaded_at: z.string(),
  versions: z.array(z.string()).optional(),
}).openapi("ModelVersion");

/** A V2 tensor in JSON. */
const V2TensorSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int()),
  datatype: z.literal("FP32"),
  data: z.array(z.number()).optional(),
  parameters: z.object({ binary_data_size: z.number().int().optional() }).optional(),
});

/** V2 inference request (JSON, or JSON header + binary tensors). */
export const V2InferRequestSchema = z.object({
  id: z.string().optional(),
  inputs: z.array(V2TensorSchema).min(1),
  outputs: z.array(
    z.object({
      name: z.string(),
      parameters: z.object({ binary_data: z.boolean().optional() }).optional(),
    }),
  ).optional(),
  parameters: z.object({ binary_data_output: z.boolean().optional() }).optional(),
}).openapi("V2InferRequest");

/** V2 inference response. */
export const V2InferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  outputs: z.array(V2TensorSchema),
}).openapi("V2InferResponse");

/** V2 model metadata. */
export const V2ModelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) })),
  outputs: z.array(
    z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) }),
  ),
}).openapi("V2ModelMetadata");
