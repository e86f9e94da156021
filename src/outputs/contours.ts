/**
 * Outer contours of the mask's regions as polygons (pixel-corner coordinates), traced
 * with d3-contour's marching squares.
 *
 * @module
 */
// @ts-types="npm:@types/d3-contour@3.0.6"
import { contours } from "d3-contour";

/** A closed polygon: `[x, y]` vertices, first ≠ last. */
export type Polygon = [number, number][];

/**
 * The outer ring of every foreground region, largest first.
 * @param maxPolygons keep at most this many (small specks last)
 */
export function outerContours(
  mask: Uint8Array,
  width: number,
  height: number,
  maxPolygons = 64,
): Polygon[] {
  const values = new Float64Array(mask.length);
  for (let i = 0; i < mask.length; i++) values[i] = mask[i];
  const multi = contours().size([width, height]).smooth(false).thresholds([0.5])(
    values as unknown as number[],
  )[0];
  const rings: Polygon[] = multi.coordinates.map((polygon) => {
    const ring = polygon[0] as [number, number][];
    return ring.slice(0, -1); // drop the closing repeat
  });
  rings.sort((a, b) => Math.abs(area(b)) - Math.abs(area(a)));
  return rings.slice(0, maxPolygons);
}

/** Signed shoelace area of a polygon. */
export function area(ring: Polygon): number {
  let s = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    s += (ring[j][0] + ring[i][0]) * (ring[j][1] - ring[i][1]);
  }
  return s / 2;
}
