/**
 * Exact Euclidean distance transform of a binary image (Felzenszwalb & Huttenlocher,
 * "Distance Transforms of Sampled Functions", Theory of Computing 8, 2012): the squared
 * distance is computed with a 1-D lower envelope of parabolas down every column and then
 * along every row, O(width × height). Same values as SciPy's `distance_transform_edt`.
 *
 * @module
 */

/** Stands for "no feature pixel yet"; finite so the envelope arithmetic never makes NaN. */
const FAR = 1e20;

/** Where the parabolas rooted at q and p (heights g[q], g[p]) intersect. */
function intersection(g: Float64Array, q: number, p: number): number {
  return ((g[q] + q * q) - (g[p] + p * p)) / (2 * (q - p));
}

/**
 * One-dimensional squared distance transform of the sampled function `f` (length `n`,
 * read with `stride` from `offset`), written back in place.
 */
function transform1d(
  f: Float64Array,
  offset: number,
  stride: number,
  n: number,
  work: { v: Int32Array; z: Float64Array; g: Float64Array },
): void {
  const { v, z, g } = work;
  for (let q = 0; q < n; q++) g[q] = f[offset + q * stride];
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = intersection(g, q, v[k]);
    // z[0] is -Infinity, so k never drops below 0
    while (s <= z[k]) s = intersection(g, q, v[--k]);
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const p = v[k];
    f[offset + q * stride] = (q - p) * (q - p) + g[p];
  }
}

/**
 * Squared Euclidean distance from every pixel to the nearest feature pixel.
 * @param feature `width × height` values, row-major; non-zero = feature pixel
 * @returns squared distances in pixels; `Infinity` everywhere when there is no feature pixel
 * @throws {RangeError} when the sizes do not match the data
 * @example
 * ```ts
 * const d2 = squaredDistanceTransform(Uint8Array.from([1, 0, 0]), 3, 1); // [0, 1, 4]
 * ```
 */
export function squaredDistanceTransform(
  feature: ArrayLike<number>,
  width: number,
  height: number,
): Float64Array {
  if (
    !Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 ||
    feature.length !== width * height
  ) {
    throw new RangeError(
      `distance transform: ${feature.length} values do not make a ${width}×${height} image`,
    );
  }
  const f = new Float64Array(width * height);
  let any = false;
  for (let i = 0; i < f.length; i++) {
    if (feature[i]) {
      any = true;
    } else {
      f[i] = FAR;
    }
  }
  if (!any) return f.fill(Infinity);
  const n = Math.max(width, height);
  const work = { v: new Int32Array(n), z: new Float64Array(n + 1), g: new Float64Array(n) };
  for (let x = 0; x < width; x++) transform1d(f, x, width, height, work);
  for (let y = 0; y < height; y++) transform1d(f, y * width, 1, width, work);
  return f;
}

/**
 * Euclidean distance from every pixel to the nearest feature pixel (0 on feature pixels).
 * @param feature `width × height` values, row-major; non-zero = feature pixel
 * @returns distances in pixels; `Infinity` everywhere when there is no feature pixel
 */
export function distanceTransform(
  feature: ArrayLike<number>,
  width: number,
  height: number,
): Float64Array {
  const d = squaredDistanceTransform(feature, width, height);
  for (let i = 0; i < d.length; i++) d[i] = Math.sqrt(d[i]);
  return d;
}
