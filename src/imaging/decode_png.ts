/**
 * PNG decoding with fast-png: 1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA and palette
 * images. The pixel limit is checked on the IHDR header before any pixel is inflated,
 * so a tiny file declaring a huge image (a decompression bomb) costs nothing.
 *
 * @module
 */
import { convertIndexedToRgb, decode, hasPngSignature } from "fast-png";
import { ApiError } from "../errors.ts";
import type { DecodedImage, DecodeLimits } from "./image.ts";

/** Whether the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && hasPngSignature(bytes);
}

/** Reads width and height from the IHDR chunk. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") {
    throw new ApiError("bad_image", "PNG is truncated or has no IHDR header");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function unpackBits(packed: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const max = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)];
      const v = (byte >> (8 - depth - (bit & 7))) & max;
      out[y * width + x] = Math.round((v * 255) / max);
    }
  }
  return out;
}

function dropAlpha(data: Uint8Array | Uint16Array, n: number, from: number, to: 1 | 3) {
  const out = data instanceof Uint16Array ? new Uint16Array(n * to) : new Uint8Array(n * to);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < to; c++) out[i * to + c] = data[i * from + c];
  }
  return out;
}

/**
 * Decodes a PNG.
 * @throws {ApiError} `bad_image` (400) when corrupt or truncated, `too_many_pixels` (413)
 */
export function decodePng(bytes: Uint8Array, limits: DecodeLimits): DecodedImage {
  const { width, height } = pngSize(bytes);
  if (width === 0 || height === 0) throw new ApiError("bad_image", "PNG has zero width or height");
  if (width * height > limits.maxPixels) {
    throw new ApiError(
      "too_many_pixels",
      `image is ${width}×${height} = ${width * height} pixels; the limit is ${limits.maxPixels}`,
    );
  }
  let png;
  try {
    png = decode(bytes);
  } catch (err) {
    throw new ApiError("bad_image", `corrupt PNG: ${(err as Error).message}`);
  }
  const n = width * height;
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    const channels = rgb.length / n;
    return {
      width,
      height,
      channels: 3,
      data: channels === 3 ? rgb : dropAlpha(rgb, n, channels, 3),
      maxValue: 255,
      source: "png",
    };
  }
  let data = png.data as Uint8Array | Uint16Array;
  if (png.depth < 8) data = unpackBits(data as Uint8Array, width, height, png.depth);
  const maxValue = png.depth === 16 ? 65535 : 255;
  const expected = n * png.channels;
  if (data.length < expected) throw new ApiError("bad_image", "corrupt PNG: pixel data is short");
  switch (png.channels) {
    case 1:
      return { width, height, channels: 1, data, maxValue, source: "png" };
    case 2:
      return {
        width,
        height,
        channels: 1,
        data: dropAlpha(data, n, 2, 1),
        maxValue,
        source: "png",
      };
    case 3:
      return { width, height, channels: 3, data, maxValue, source: "png" };
    case 4:
      return {
        width,
        height,
        channels: 3,
        data: dropAlpha(data, n, 4, 3),
        maxValue,
        source: "png",
      };
    default:
      throw new ApiError("bad_image", `PNG with ${png.channels} channels`);
  }
}
