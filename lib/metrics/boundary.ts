/**
 * The boundary (surface) of a binary mask: foreground pixels with at least one
 * 4-connected neighbour in the background, pixels outside the image counting as
 * background. Equals `mask & ~binary_erosion(mask, cross, border_value=0)` in SciPy,
 * the convention of `tools/distill/metrics.py`.
 *
 * @module
 */

/**
 * Marks the boundary pixels of a mask.
 * @param mask `width × height` values, row-major; non-zero = foreground
 * @returns 1 on boundary pixels, 0 elsewhere
 * @throws {RangeError} when the sizes do not match the data
 */
export function boundary(mask: ArrayLike<number>, width: number, height: number): Uint8Array {
  if (mask.length !== width * height) {
    throw new RangeError(`boundary: ${mask.length} values do not make a ${width}×${height} mask`);
  }
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      const interior = x > 0 && x < width - 1 && y > 0 && y < height - 1 &&
        mask[i - 1] && mask[i + 1] && mask[i - width] && mask[i + width];
      if (!interior) out[i] = 1;
    }
  }
  return out;
}
