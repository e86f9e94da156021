/**
 * The mask as an 8-bit greyscale PNG (0 background, 255 foreground) at the image's size,
 * written by `png_writer.ts` (unfiltered, native zlib level 1: see there for the measured
 * choices).
 *
 * @module
 */
import type { Segmentation } from "../imaging/postprocess.ts";
import { encodePng8, type PngOptions } from "./png_writer.ts";

/** Encoder choices (for the micro-benchmark; the defaults are the measured best). */
export type MaskPngOptions = PngOptions;

/** Encodes a 0/1 mask of `width × height` as a 0/255 greyscale PNG. */
export function encodeMaskPng(
  mask: Uint8Array,
  width: number,
  height: number,
  options: MaskPngOptions = {},
): Uint8Array {
  const data = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) data[i] = mask[i] ? 255 : 0;
  return encodePng8({ data, width, height, channels: 1 }, options);
}

/** Encodes a segmentation's mask as a 0/255 greyscale PNG. */
export function maskPng(seg: Segmentation): Uint8Array {
  return encodeMaskPng(seg.mask, seg.width, seg.height);
}
