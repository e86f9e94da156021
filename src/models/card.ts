/**
 * The model card (`model.json`): what the server needs to feed a model and read its
 * output, plus provenance and measured metrics. Validated with zod; a bad card is a
 * start-up error naming the file and the field.
 *
 * @module
 */
import { z } from "zod";
import { ENGINE_NAMES } from "../engines/engine.ts";
import { AlgorithmSchema, ModalitiesSchema, SegmentCodingSchema } from "./card_dicom.ts";

const positiveInt = z.number().int().positive();

/** Input description: layout, channels, size policy and normalisation. */
export const InputSpecSchema = z.object({
  name: z.string().min(1).default("image"),
  layout: z.literal("NCHW").default("NCHW"),
  channels: z.union([z.literal(1), z.literal(3)]),
  /** fixed input height/width; null = dynamic */
  height: positiveInt.nullable().default(null),
  width: positiveInt.nullable().default(null),
  /** dynamic models: resize so the long side equals this before padding (null: native size) */
  resize: z.object({ long_side: positiveInt }).nullable().default(null),
  /** dynamic models: pad H and W (centred) to a multiple of this */
  pad_multiple: positiveInt.default(16),
  /** applied to pixel/255 per channel: (x - mean) / std */
  mean: z.array(z.number()).min(1),
  std: z.array(z.number().positive()).min(1),
}).superRefine((v, ctx) => {
  if (v.mean.length !== v.channels || v.std.length !== v.channels) {
    ctx.addIssue({
      code: "custom",
      message: `mean and std need ${v.channels} values (one per channel)`,
    });
  }
  if ((v.height === null) !== (v.width === null)) {
    ctx.addIssue({ code: "custom", message: "height and width must both be fixed or both null" });
  }
});

/** Output description. */
export const OutputSpecSchema = z.object({
  name: z.string().min(1).default("logits"),
  /** `logits` get a sigmoid; `probabilities` are used as they are */
  kind: z.enum(["logits", "probabilities"]).default("logits"),
});

/** Per-precision model files, relative to the version folder. */
export const FilesSchema = z.object({
  fp32: z.string().min(1).default("model.onnx"),
  int8: z.string().min(1).optional(),
}).default({ fp32: "model.onnx" });

/** Mask clean-up after the threshold, chosen on the validation split (`deno task evaluate --choose-postprocess`). */
export const PostprocessSchema = z.object({
  /** keep only the largest 8-connected foreground region (one object per image) */
  largest_component: z.boolean().default(false),
}).default({ largest_component: false });

/** Quality figures on a split. */
export const MetricsSchema = z.record(z.string(), z.unknown());

/** The whole card. Unknown top-level fields are kept (training config, provenance…). */
export const ModelCardSchema = z.looseObject({
  schema: z.literal(1).default(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, "letters, digits, . _ - only"),
  version: z.string().regex(/^[0-9a-z][0-9a-z._-]*$/i, "letters, digits, . _ - only"),
  title: z.string().optional(),
  task: z.literal("binary-segmentation").default("binary-segmentation"),
  label: z.string().min(1).default("foreground"),
  /** false for placeholders with random weights */
  trained: z.boolean().default(true),
  input: InputSpecSchema,
  output: OutputSpecSchema.default({ name: "logits", kind: "logits" }),
  threshold: z.number().gt(0).lt(1).default(0.5),
  postprocess: PostprocessSchema,
  files: FilesSchema,
  /** which file the server runs by default */
  precision: z.enum(["fp32", "int8"]).default("fp32"),
  /** preferred engine for this model (overrides the server default when not `auto`) */
  engine: z.enum(["auto", ...ENGINE_NAMES]).default("auto"),
  /** physical pixel size, when known (mm) */
  pixel_spacing_mm: z.tuple([z.number().positive(), z.number().positive()]).optional(),
  metrics: z.record(z.string(), MetricsSchema).optional(),
  /** DICOM Modality codes the model is for (other modalities are refused); absent: any */
  modalities: ModalitiesSchema.optional(),
  /** the segment's SNOMED CT category and type, for DICOM SEG */
  segment: SegmentCodingSchema.optional(),
  /** DICOM Algorithm Identification (family, name) */
  algorithm: AlgorithmSchema,
});

/** A validated model card. */
export type ModelCard = z.infer<typeof ModelCardSchema>;
/** The input part of a card. */
export type InputSpec = ModelCard["input"];

/** Thrown for an invalid card, naming the file and each problem. */
export class CardError extends Error {
  constructor(readonly file: string, problems: string[]) {
    super(`invalid model card ${file}: ${problems.join("; ")}`);
    this.name = "CardError";
  }
}

/**
 * Validates a parsed `model.json`.
 * @param raw the parsed JSON
 * @param file path for error messages
 * @throws {CardError} listing every problem with its field path
 */
export function parseCard(raw: unknown, file: string): ModelCard {
  const result = ModelCardSchema.safeParse(raw);
  if (!result.success) {
    throw new CardError(
      file,
      result.error.issues.map((i) => `${i.path.join(".") || "(card)"}: ${i.message}`),
    );
  }
  const card = result.data;
  if (card.precision === "int8" && !card.files.int8) {
    throw new CardError(file, ["precision: int8 asked for but files.int8 is not set"]);
  }
  return card;
}
