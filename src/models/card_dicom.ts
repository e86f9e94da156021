/**
 * What a model card says for DICOM: the modalities the model is for (`modalities`,
 * DICOM Modality (0008,0060) codes; the segment routes refuse other modalities and the
 * DICOM node routes by them), the coded meaning of its segment (`segment`: SNOMED CT
 * category and type as DICOM CID 7150/7151 use them, written into DICOM SEG) and its
 * Algorithm Identification (`algorithm`).
 *
 * @module
 */
import { z } from "zod";
import { ApiError } from "../errors.ts";

/** A coded concept (one item of a DICOM Code Sequence). */
export const CodeSchema = z.object({
  code: z.string().min(1).max(16),
  /** coding scheme designator: SCT (SNOMED CT), DCM… */
  scheme: z.string().min(1).max(16).default("SCT"),
  meaning: z.string().min(1).max(64),
});
/** A coded concept. */
export type Code = z.infer<typeof CodeSchema>;

/** DICOM Modality codes (CS: upper case, digits, space, underscore; 16 at most). */
export const ModalitiesSchema = z.array(
  z.string().regex(/^[A-Z0-9_ ]{1,16}$/, "a DICOM Modality code such as US, CT, XC, OT"),
).min(1);

/** Segmented property category and type (and where in the body), coded. */
export const SegmentCodingSchema = z.object({
  category: CodeSchema,
  type: CodeSchema,
  anatomic_region: CodeSchema.optional(),
});

/** Algorithm Family when the card names none (DICOM CID 7162). */
export const DEFAULT_ALGORITHM_FAMILY: Code = {
  code: "123110",
  scheme: "DCM",
  meaning: "Artificial Intelligence",
};

/** DICOM Algorithm Identification: family (CID 7162), name and version. */
export const AlgorithmSchema = z.object({
  family: CodeSchema.default(DEFAULT_ALGORITHM_FAMILY),
  /** defaults to "<model name> <model version>" */
  name: z.string().min(1).max(64).optional(),
}).default({ family: DEFAULT_ALGORITHM_FAMILY });

/** Used when a card has no `segment`: "Tissue" in the "Tissue" category (SNOMED CT). */
export const DEFAULT_SEGMENT_CODING = {
  category: { code: "85756007", scheme: "SCT", meaning: "Tissue" },
  type: { code: "85756007", scheme: "SCT", meaning: "Tissue" },
} as const;

/**
 * Refuses a DICOM image whose Modality the model is not for.
 * @param modalities the card's list (no list: any modality)
 * @param modality the image's Modality ("" when absent); undefined for PNG/JPEG
 * @throws {ApiError} `modality_mismatch` (422) naming both
 */
export function checkModality(
  model: string,
  modalities: readonly string[] | undefined,
  modality: string | undefined,
): void {
  if (!modalities || modality === undefined || modalities.includes(modality)) return;
  throw new ApiError(
    "modality_mismatch",
    `model ${model} is for ${modalities.join("/")} images; this DICOM's Modality is ${
      modality || "missing"
    }. Send an image of the modality it was trained on, or add ?modality_check=off to run it anyway`,
  );
}
