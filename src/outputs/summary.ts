/**
 * The JSON description of a segmentation: sizes, areas (pixels and, with a pixel spacing,
 * mm²), bounding box, COCO RLE and outer contours.
 *
 * @module
 */
import type { Segmentation } from "../imaging/postprocess.ts";
import { outerContours, type Polygon } from "./contours.ts";
import { type CocoRle, encodeRle } from "./rle.ts";

/** Measurements of a mask. */
export interface MaskSummary {
  width: number;
  height: number;
  threshold: number;
  /** clean-up steps applied after the threshold */
  postprocess: string[];
  /** foreground pixels / all pixels */
  foreground_fraction: number;
  /** foreground pixels */
  pixel_area: number;
  /** foreground area in mm² when the pixel spacing is known */
  area_mm2: number | null;
  pixel_spacing_mm: [number, number] | null;
  /** `[x, y, width, height]` of the foreground, null when empty */
  bbox: [number, number, number, number] | null;
  rle: CocoRle;
  contours: Polygon[];
}

/** Measures a segmentation. */
export function summarize(seg: Segmentation, pixelSpacingMm?: [number, number]): MaskSummary {
  const { width: w, height: h, mask } = seg;
  let count = 0, x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      count++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return {
    width: w,
    height: h,
    threshold: seg.threshold,
    postprocess: seg.postprocess,
    foreground_fraction: count / (w * h),
    pixel_area: count,
    area_mm2: pixelSpacingMm ? count * pixelSpacingMm[0] * pixelSpacingMm[1] : null,
    pixel_spacing_mm: pixelSpacingMm ?? null,
    bbox: count ? [x0, y0, x1 - x0 + 1, y1 - y0 + 1] : null,
    rle: encodeRle(mask, w, h),
    contours: outerContours(mask, w, h),
  };
}
