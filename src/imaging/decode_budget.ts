/**
 * What a decoder may spend on one image, fixed before it allocates or inflates anything:
 * the pixel limit (`TINYUNET_MAX_PIXELS`) and the bytes its decoded samples and working
 * buffers may take (derived from the pixel limit unless set). Every decoder (PNG, JPEG,
 * DICOM codecs) checks the header against {@link checkPixels} first, sizes its output
 * with {@link checkDecodedBytes}, and caps any inflater/scan loop with the numbers here.
 *
 * @example
 * ```ts
 * const budget = decodeBudget({ maxPixels: 16_777_216 });
 * checkPixels(budget, width, height);            // 413 too_many_pixels
 * checkDecodedBytes(budget, width * height * 6); // 413 too_large (decoded)
 * ```
 * @module
 */
import { ApiError } from "../errors.ts";

/** The output budget of one decode. */
export interface DecodeBudget {
  /** maximum width × height */
  maxPixels: number;
  /**
   * most bytes the decoder may hold for samples and working buffers at once
   * (default {@link defaultDecodedBytes}: 9 bytes per allowed pixel + 16 MiB)
   */
  maxDecodedBytes?: number;
  /** JPEG: most scans (SOS segments) a progressive image may have (default {@link MAX_JPEG_SCANS}) */
  maxScans?: number;
}

/** Scans allowed in one JPEG: a progressive encoder writes about 10; 20,000 tiny scans are an attack. */
export const MAX_JPEG_SCANS = 256;

/**
 * Decoded bytes allowed for a pixel limit: 9 per pixel — the most any decoder here needs
 * for an image inside the limit: a progressive 4:4:4 JPEG (3 bytes of samples + 6 of
 * coefficients; an RGBA16 PNG needs 8) — plus 16 MiB for the file, filter bytes and
 * working rows.
 */
export function defaultDecodedBytes(maxPixels: number): number {
  return maxPixels * 9 + 16 * 2 ** 20;
}

/** The budget with defaults filled in. */
export function decodeBudget(b: DecodeBudget): Required<DecodeBudget> {
  return {
    maxPixels: b.maxPixels,
    maxDecodedBytes: b.maxDecodedBytes ?? defaultDecodedBytes(b.maxPixels),
    maxScans: b.maxScans ?? MAX_JPEG_SCANS,
  };
}

/**
 * Refuses a header whose pixel count is over the limit (or zero).
 * @throws {ApiError} `too_many_pixels` (413), `bad_image` (400) for a zero size
 */
export function checkPixels(budget: DecodeBudget, width: number, height: number, format: string) {
  if (width === 0 || height === 0) {
    throw new ApiError("bad_image", `${format} has zero width or height`);
  }
  if (width * height > budget.maxPixels) {
    throw new ApiError(
      "too_many_pixels",
      `image is ${width}×${height} = ${width * height} pixels; the limit is ${budget.maxPixels}`,
    );
  }
}

/**
 * Refuses a decode that would need more than the budget's decoded bytes.
 * @throws {ApiError} `too_many_pixels` (413)
 */
export function checkDecodedBytes(budget: DecodeBudget, bytes: number, what: string) {
  const max = decodeBudget(budget).maxDecodedBytes;
  if (bytes > max) {
    throw new ApiError(
      "too_many_pixels",
      `${what} needs ${bytes} bytes decoded; the limit is ${max} (9 bytes per allowed pixel + 16 MiB)`,
    );
  }
}
