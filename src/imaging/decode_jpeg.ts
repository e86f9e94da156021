/**
 * Baseline and progressive JPEG decoding with jpeg-js, within a {@link DecodeBudget}: the
 * frame header (SOF) is read first, so the pixel limit is enforced before any decoding
 * work; the scans (SOS markers) are counted before decoding (a progressive image has about
 * ten; thousands of tiny scans make jpeg-js visit every block thousands of times, so more
 * than `maxScans` are refused with 422); and jpeg-js's own memory limit is set from the
 * pixel limit (its accounting is ~18 bytes per pixel for 4:4:4 colour: coefficient
 * blocks, component planes and the output), so every image inside the pixel limit decodes.
 * What is left (a slow but legal image) is bounded by the request deadline, which ends the
 * decode worker (see src/serving/pool.ts).
 *
 * @module
 */
import jpeg from "jpeg-js";
import { ApiError } from "../errors.ts";
import { checkPixels, type DecodeBudget, decodeBudget } from "./decode_budget.ts";
import type { DecodedImage } from "./image.ts";

/** Whether the bytes start with a JPEG SOI marker. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Finds the frame size in the first SOF marker; null if the header is cut short. */
export function jpegSize(
  bytes: Uint8Array,
): { width: number; height: number; components: number } | null {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
      marker !== 0xcc;
    if (isSof) {
      return {
        height: (bytes[i + 5] << 8) | bytes[i + 6],
        width: (bytes[i + 7] << 8) | bytes[i + 8],
        components: bytes[i + 9],
      };
    }
    i += 2 + length;
  }
  return null;
}

/**
 * Counts start-of-scan markers (FF DA), stopping once past `stopAfter`. Entropy-coded data
 * stuffs every FF with 00 (or a restart marker), so FF DA appears only as a marker (or in an
 * embedded thumbnail, which can only overcount).
 */
export function countScans(bytes: Uint8Array, stopAfter = Infinity): number {
  let n = 0;
  for (
    let i = bytes.indexOf(0xff);
    i >= 0 && i + 1 < bytes.length;
    i = bytes.indexOf(0xff, i + 1)
  ) {
    if (bytes[i + 1] === 0xda && ++n > stopAfter) break;
  }
  return n;
}

/**
 * Decodes a JPEG to grey (one component) or RGB.
 * @throws {ApiError} `bad_image` (400) when corrupt or truncated, `too_many_pixels` (413)
 */
export function decodeJpeg(bytes: Uint8Array, budget: DecodeBudget): DecodedImage {
  const limits = decodeBudget(budget);
  const size = jpegSize(bytes);
  if (!size) throw new ApiError("bad_image", "JPEG is truncated or has no frame header");
  const { width, height } = size;
  checkPixels(limits, width, height, "JPEG");
  const scans = countScans(bytes, limits.maxScans);
  if (scans > limits.maxScans) {
    throw new ApiError(
      "unsupported_image",
      `JPEG has more than ${limits.maxScans} scans; a progressive JPEG has about 10`,
    );
  }
  let decoded;
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: limits.maxPixels / 1e6 + 1,
      maxMemoryUsageInMB: Math.ceil((limits.maxPixels * 20) / 2 ** 20) + 64,
    });
  } catch (err) {
    throw new ApiError("bad_image", `corrupt JPEG: ${(err as Error).message ?? err}`);
  }
  const n = width * height;
  const data = decoded.data as Uint8Array;
  if (decoded.width !== width || decoded.height !== height || data.length < n * 3) {
    throw new ApiError("bad_image", "corrupt JPEG: decoded size does not match its header");
  }
  if (size.components === 1) {
    const grey = new Uint8Array(n);
    for (let i = 0; i < n; i++) grey[i] = data[3 * i];
    return { width, height, channels: 1, data: grey, maxValue: 255, source: "jpeg" };
  }
  return {
    width,
    height,
    channels: 3,
    data: data.subarray(0, n * 3),
    maxValue: 255,
    source: "jpeg",
  };
}
