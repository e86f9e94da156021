/**
 * The modality guard of the segment routes, run on the upload before its pixels are
 * decoded: a DICOM whose Modality (0008,0060) is not one the model's card lists is
 * refused with 422 `modality_mismatch` (unless `?modality_check=off`) without spending a
 * codec run on it. PNG and JPEG carry no modality and pass; a body whose declared type
 * contradicts its bytes is left to the decoder's own error.
 *
 * @module
 */
import { isDicom, readDicomInfo } from "../imaging/decode_dicom.ts";
import { checkModality } from "../models/card_dicom.ts";
import type { ModelVersion } from "../models/model_version.ts";

const DICOM_OR_UNTYPED = new Set(["", "application/octet-stream", "application/dicom"]);

/**
 * Checks an upload against the model's modalities.
 * @throws {ApiError} `modality_mismatch` (422); `bad_dicom`/`unsupported_transfer_syntax`
 *   for a DICOM that does not parse (the decoder would say the same)
 */
export function guardModality(
  model: ModelVersion,
  bytes: Uint8Array,
  mediaType: string,
  maxPixels: number,
): void {
  const modalities = model.card.modalities;
  if (!modalities || !isDicom(bytes)) return;
  if (!DICOM_OR_UNTYPED.has(mediaType.split(";")[0].trim().toLowerCase())) return;
  checkModality(model.name, modalities, readDicomInfo(bytes, { maxPixels }).modality);
}
