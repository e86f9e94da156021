/**
 * The image with its mask drawn over it (translucent fill plus a solid outline), as an 8-bit
 * RGB PNG (`png_writer.ts`): what a clinician looks at to judge a segmentation.
 *
 * @module
 */
import { type DecodedImage, toRgb8 } from "../imaging/image.ts";
import type { Segmentation } from "../imaging/postprocess.ts";
import { encodePng8 } from "./png_writer.ts";

/** Overlay options. */
export interface OverlayOptions {
  /** fill colour (RGB) */
  color?: [number, number, number];
  /** fill opacity 0..1 */
  opacity?: number;
  /** draw the boundary in full colour */
  outline?: boolean;
}

/** Renders the overlay PNG. */
export function overlayPng(
  image: DecodedImage,
  seg: Segmentation,
  options: OverlayOptions = {},
): Uint8Array {
  const { color = [255, 32, 96], opacity = 0.4, outline = true } = options;
  const { width: w, height: h, mask } = seg;
  const rgb = toRgb8(image);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      const edge = outline &&
        (x === 0 || y === 0 || x === w - 1 || y === h - 1 ||
          !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w]);
      const a = edge ? 1 : opacity;
      for (let c = 0; c < 3; c++) {
        rgb[3 * i + c] = Math.round(rgb[3 * i + c] * (1 - a) + color[c] * a);
      }
    }
  }
  return encodePng8({ data: rgb, width: w, height: h, channels: 3 });
}
