/**
 * Image decoding entry point: recognises the format from the bytes (not the client's
 * word), checks it against the declared content type, and hands it to the format's
 * decoder. Each format lives in its own file and registers itself in `DECODERS`; the DICOM
 * decoder is imported on the first DICOM body.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { isDicom } from "./dicom_sniff.ts";
import { decodeJpeg, isJpeg } from "./decode_jpeg.ts";
import { decodePng, isPng } from "./decode_png.ts";
import type { DecodedImage, DecodeOptions } from "./image.ts";

/** One image format. */
export interface ImageDecoder {
  /** short name ("png") */
  name: string;
  /** media types that announce it */
  mediaTypes: string[];
  sniff(bytes: Uint8Array): boolean;
  /** error code for a body that claims this format but is not it (default `bad_image`) */
  corruptCode?: "bad_image" | "bad_dicom";
  decode(bytes: Uint8Array, options: DecodeOptions): DecodedImage | Promise<DecodedImage>;
}

/** Registered decoders, tried in order. */
export const DECODERS: ImageDecoder[] = [
  { name: "png", mediaTypes: ["image/png"], sniff: isPng, decode: decodePng },
  {
    name: "jpeg",
    mediaTypes: ["image/jpeg", "image/jpg", "image/pjpeg"],
    sniff: isJpeg,
    decode: decodeJpeg,
  },
  {
    name: "dicom",
    mediaTypes: ["application/dicom"],
    sniff: isDicom,
    corruptCode: "bad_dicom",
    // loaded on the first DICOM body: the parser and codec modules cost start-up time and
    // memory that a server fed PNG and JPEG never needs
    decode: async (bytes, options) =>
      (await import("./decode_dicom.ts")).decodeDicom(bytes, options),
  },
];

/** Media types accepted as an image body (anything else is 415). */
export function acceptedMediaTypes(): string[] {
  return DECODERS.flatMap((d) => d.mediaTypes);
}

/** Media types that say "no particular type": the bytes decide. */
const GENERIC_TYPES = new Set(["", "application/octet-stream"]);

/**
 * Decodes an image body.
 * @param bytes the body
 * @param mediaType the declared type (Content-Type or the multipart part's type), if any
 * @throws {ApiError} 415 for a type we do not take or bytes of no known format,
 *   400 for corrupt data or a type that contradicts the bytes, 413 over the pixel limit
 */
export async function decodeImage(
  bytes: Uint8Array,
  mediaType: string | undefined,
  options: DecodeOptions,
): Promise<DecodedImage> {
  const type = (mediaType ?? "").split(";")[0].trim().toLowerCase();
  const declared = DECODERS.find((d) => d.mediaTypes.includes(type));
  if (!declared && !GENERIC_TYPES.has(type)) {
    throw new ApiError(
      "unsupported_media_type",
      `unsupported content type "${type}"; send ${acceptedMediaTypes().join(", ")}`,
    );
  }
  if (bytes.length === 0) throw new ApiError("bad_image", "the image is empty");
  const actual = DECODERS.find((d) => d.sniff(bytes));
  if (!actual) {
    if (declared) {
      throw new ApiError(
        declared.corruptCode ?? "bad_image",
        `the body is not a valid ${declared.name.toUpperCase()} (unrecognised signature)`,
      );
    }
    throw new ApiError(
      "unsupported_media_type",
      `unrecognised image format; send ${acceptedMediaTypes().join(", ")}`,
    );
  }
  if (declared && declared !== actual) {
    throw new ApiError(
      "bad_image",
      `content type says ${declared.name} but the bytes are ${actual.name}`,
    );
  }
  return await actual.decode(bytes, options);
}
