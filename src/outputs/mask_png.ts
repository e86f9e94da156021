/**
 * The mask as an 8-bit greyscale PNG (0 background, 255 foreground) at the image's size.
 *
 * @module
 */
import { encode } from "fast-png";
import type { Segmentation } from "../imaging/postprocess.ts";

/** Encodes a segmentation's mask as a 0/255 greyscale PNG. */
export function maskPng(seg: Segmentation): Uint8Array {
  const data = new Uint8Array(seg.mask.length);
  for (let i = 0; i < data.length; i++) data[i] = seg.mask[i] ? 255 : 0;
  return encode({ width: seg.width, height: seg.height, data, channels: 1, depth: 8 });
}
