/**
 * JPEG decoding (baseline, extended and progressive, 8-bit grey or colour) with
 * libjpeg-turbo — Cornerstone's WebAssembly build, the codec the DICOM path already uses
 * (`dicom_codec_impl.ts`) — within a {@link DecodeBudget}:
 *
 * - the frame header (SOF) is read first, so the pixel limit is enforced before any
 *   decoding work, and 12-bit and 4-component (CMYK) JPEGs are refused (422) up front;
 * - the scans (SOS markers) are counted before decoding: a progressive image has about
 *   ten; thousands of tiny scans make a decoder visit every block thousands of times, so
 *   more than `maxScans` are refused with 422;
 * - what libjpeg-turbo will hold follows from the header alone — the file, the output
 *   samples and, for a progressive image, its coefficient buffer (2 bytes per sample of
 *   each component as subsampled) — and is checked against the budget's decoded bytes
 *   (9 bytes per allowed pixel + 16 MiB), so every image inside the pixel limit decodes and none
 *   needs more: a 4096² baseline RGB JPEG holds ~49 MiB in the codec's heap plus the 48 MiB
 *   result (jpeg-js, used before: ~+500 MiB);
 * - after an image over 4 Mpx the codec's instance is dropped, so the heap it grew to is
 *   returned (a WebAssembly memory never shrinks);
 * - what is left (a slow but legal image) is bounded by the request deadline, which ends
 *   the decode worker (see src/serving/pool.ts).
 *
 * libjpeg-turbo also gives the samples Python's PIL gives (PIL decodes with libjpeg-turbo;
 * the distillation tools train on what it reads): 0 samples differ on the ISIC and
 * Kvasir-SEG JPEGs tried, where jpeg-js differed in more than half of them by up to 27.
 * The codec is loaded on the first JPEG, in the thread that decodes it.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { CodecError, decodeWithCodec, releaseCodec } from "./dicom_codec_impl.ts";
import {
  checkDecodedBytes,
  checkPixels,
  type DecodeBudget,
  decodeBudget,
} from "./decode_budget.ts";
import type { DecodedImage } from "./image.ts";

/** Whether the bytes start with a JPEG SOI marker. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** A JPEG frame header (SOF). */
export interface JpegFrame {
  width: number;
  height: number;
  components: number;
  /** bits per sample (8 or 12) */
  precision: number;
  /** SOF2/6/10/14: progressive (the decoder keeps every coefficient until the end) */
  progressive: boolean;
  /** each component's horizontal and vertical sampling factors */
  sampling: [number, number][];
}

/** Reads the first SOF marker; null if the header is cut short. */
export function jpegFrame(bytes: Uint8Array): JpegFrame | null {
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
      const components = bytes[i + 9];
      const sampling: [number, number][] = [];
      for (let c = 0; c < components && i + 11 + 3 * c < bytes.length; c++) {
        const f = bytes[i + 11 + 3 * c];
        sampling.push([Math.max(1, f >> 4), Math.max(1, f & 15)]);
      }
      return {
        precision: bytes[i + 4],
        height: (bytes[i + 5] << 8) | bytes[i + 6],
        width: (bytes[i + 7] << 8) | bytes[i + 8],
        components,
        progressive: (marker & 3) === 2,
        sampling,
      };
    }
    i += 2 + length;
  }
  return null;
}

/** Finds the frame size in the first SOF marker; null if the header is cut short. */
export function jpegSize(
  bytes: Uint8Array,
): { width: number; height: number; components: number } | null {
  const f = jpegFrame(bytes);
  return f && { width: f.width, height: f.height, components: f.components };
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
 * Bytes libjpeg-turbo holds for a frame: the file, the output samples, and for a
 * progressive frame its whole-image coefficient buffer (64 two-byte coefficients per 8×8
 * block of each component, blocks counted per MCU as libjpeg pads them).
 */
export function jpegDecodeBytes(f: JpegFrame, fileBytes: number): number {
  let bytes = fileBytes + f.width * f.height * f.components;
  if (f.progressive) {
    const hMax = Math.max(...f.sampling.map((s) => s[0]));
    const vMax = Math.max(...f.sampling.map((s) => s[1]));
    const mcuCols = Math.ceil(f.width / (8 * hMax)), mcuRows = Math.ceil(f.height / (8 * vMax));
    for (const [h, v] of f.sampling) bytes += mcuCols * h * mcuRows * v * 128;
  }
  return bytes;
}

/** Images over this many pixels release the codec's instance after decoding. */
const RELEASE_PIXELS = 4_000_000;

/**
 * Decodes a JPEG to grey (one component) or RGB.
 * @throws {ApiError} `bad_image` (400) when corrupt or truncated, `too_many_pixels` (413),
 *   `unsupported_image` (422: 12-bit, CMYK, too many scans)
 */
export async function decodeJpeg(bytes: Uint8Array, budget: DecodeBudget): Promise<DecodedImage> {
  const limits = decodeBudget(budget);
  const frame = jpegFrame(bytes);
  if (!frame) throw new ApiError("bad_image", "JPEG is truncated or has no frame header");
  const { width, height, components } = frame;
  checkPixels(limits, width, height, "JPEG");
  if (components !== 1 && components !== 3) {
    throw new ApiError(
      "unsupported_image",
      `JPEG with ${components} components (CMYK?) is not supported; send greyscale or RGB`,
    );
  }
  if (frame.precision !== 8 || frame.sampling.length !== components) {
    throw new ApiError(
      "unsupported_image",
      `${frame.precision}-bit JPEG is not supported; 8-bit baseline or progressive JPEG is`,
    );
  }
  const scans = countScans(bytes, limits.maxScans);
  if (scans > limits.maxScans) {
    throw new ApiError(
      "unsupported_image",
      `JPEG has more than ${limits.maxScans} scans; a progressive JPEG has about 10`,
    );
  }
  checkDecodedBytes(limits, jpegDecodeBytes(frame, bytes.length), "this JPEG");
  let data: Uint8Array;
  try {
    data = await decodeWithCodec("jpeg-baseline", bytes, {
      rows: height,
      columns: width,
      samplesPerPixel: components,
      bitsAllocated: 8,
      bitsStored: 8,
      signed: false,
    }) as Uint8Array;
  } catch (err) {
    if (err instanceof CodecError) {
      throw new ApiError("bad_image", `corrupt JPEG: ${err.message.replace(/^the JPEG /, "")}`);
    }
    throw err;
  } finally {
    if (width * height > RELEASE_PIXELS) releaseCodec("jpeg-baseline");
  }
  if (data.length !== width * height * components) {
    throw new ApiError("bad_image", "corrupt JPEG: decoded size does not match its header");
  }
  return { width, height, channels: components, data, maxValue: 255, source: "jpeg" };
}
