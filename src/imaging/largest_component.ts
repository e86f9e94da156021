/**
 * Keep-the-largest-region post-processing: for targets that are one object per image (a
 * skin lesion, a fetal head), every foreground region but the largest is a false positive
 * (nnU-Net's "remove all but the largest component"). Whether a model uses it is decided on
 * the validation split by `deno task evaluate --choose-postprocess` and stored in its card.
 *
 * @module
 */

/** A mask with only its largest region left, and how many regions there were. */
export interface LargestComponent {
  mask: Uint8Array;
  /** 8-connected foreground regions found in the input */
  regions: number;
  /** foreground pixels removed */
  removedPixels: number;
}

/**
 * Keeps the largest 8-connected foreground region of a 0/1 mask (ties: the region met
 * first in row order). The input is not changed unless `inPlace` (then it is the output,
 * which saves a mask-sized copy at a 16 Mpx image's size).
 */
export function keepLargestComponent(
  mask: Uint8Array,
  width: number,
  height: number,
  inPlace = false,
): LargestComponent {
  const n = width * height;
  if (mask.length !== n) {
    throw new Error(`mask has ${mask.length} pixels, expected ${width}×${height}`);
  }
  const label = new Int32Array(n);
  // grows on demand (each pixel is pushed at most once): small regions need no n-sized stack
  let stack = new Int32Array(Math.min(n, 1 << 16));
  let regions = 0, best = 0, bestSize = 0, total = 0;
  for (let start = 0; start < n; start++) {
    if (!mask[start] || label[start]) continue;
    const id = ++regions;
    let size = 0, top = 0;
    label[start] = id;
    stack[top++] = start;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const x = p % width, y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] && !label[q]) {
            label[q] = id;
            if (top === stack.length) {
              const grown = new Int32Array(Math.min(n, stack.length * 2));
              grown.set(stack);
              stack = grown;
            }
            stack[top++] = q;
          }
        }
      }
    }
    total += size;
    if (size > bestSize) {
      bestSize = size;
      best = id;
    }
  }
  const out = inPlace ? mask : new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = best && label[i] === best ? 1 : 0;
  return { mask: out, regions, removedPixels: total - bestSize };
}
