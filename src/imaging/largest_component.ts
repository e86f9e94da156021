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
 * first in row order). The input is not changed.
 *
 * Labels runs, not pixels: each row's foreground runs are joined (union-find) with the runs
 * of the row above that touch them, diagonals included, so the work per pixel is one scan
 * and the rest is per run (a mask has few). bench/codec_choices.ts times it.
 */
export function keepLargestComponent(
  mask: Uint8Array,
  width: number,
  height: number,
): LargestComponent {
  const n = width * height;
  if (mask.length !== n) {
    throw new Error(`mask has ${mask.length} pixels, expected ${width}×${height}`);
  }
  // runs: row, start, end (exclusive), in raster order
  let cap = 1024;
  let rowOf = new Int32Array(cap), from = new Int32Array(cap), to = new Int32Array(cap);
  let parent = new Int32Array(cap);
  let runs = 0;
  const find = (a: number) => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]];
    return a;
  };
  let prevStart = 0, prevEnd = 0; // runs of the row above: [prevStart, prevEnd)
  for (let y = 0; y < height; y++) {
    const rowStart = runs, base = y * width;
    let p = prevStart;
    for (let x = 0; x < width;) {
      if (!mask[base + x]) {
        x++;
        continue;
      }
      const s = x;
      while (x < width && mask[base + x]) x++;
      if (runs === cap) {
        cap *= 2;
        const grow = (a: Int32Array) => {
          const b = new Int32Array(cap);
          b.set(a);
          return b;
        };
        rowOf = grow(rowOf), from = grow(from), to = grow(to), parent = grow(parent);
      }
      const r = runs++;
      rowOf[r] = y, from[r] = s, to[r] = x, parent[r] = r;
      // runs above touching [s - 1, x] (8-connectivity)
      while (p < prevEnd && to[p] < s) p++;
      for (let q = p; q < prevEnd && from[q] <= x; q++) {
        const a = find(q), b = find(r);
        if (a !== b) {
          if (a < b) parent[b] = a;
          else parent[a] = b;
        }
      }
    }
    prevStart = rowStart;
    prevEnd = runs;
  }
  // sizes per root (roots are each region's first run: unions keep the smaller index)
  const size = new Float64Array(runs);
  let total = 0, regions = 0;
  for (let r = 0; r < runs; r++) {
    const len = to[r] - from[r];
    size[find(r)] += len;
    total += len;
  }
  let best = -1, bestSize = 0;
  for (let r = 0; r < runs; r++) {
    if (parent[r] !== r) continue;
    regions++;
    if (size[r] > bestSize) {
      bestSize = size[r];
      best = r;
    }
  }
  const out = new Uint8Array(n);
  for (let r = 0; r < runs; r++) {
    if (best >= 0 && find(r) === best) {
      out.fill(1, rowOf[r] * width + from[r], rowOf[r] * width + to[r]);
    }
  }
  return { mask: out, regions, removedPixels: total - bestSize };
}
