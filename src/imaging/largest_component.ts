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

/** A growable Int32 list. */
class IntList {
  data = new Int32Array(1024);
  length = 0;
  push(v: number) {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
}

/**
 * Keeps the largest 8-connected foreground region of a 0/1 mask (ties: the region met
 * first in row order). The input is not changed unless `inPlace` (then it is the output,
 * which saves a mask-sized copy at a 16 Mpx image's size).
 *
 * Works on runs (horizontal stretches of foreground) joined with union-find, so memory
 * grows with the number of runs (a few per row in a real mask), not with the pixel count.
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
  const starts = new IntList(), ends = new IntList(), parent = new IntList();
  const rowOf = new IntList();
  const find = (a: number): number => {
    const p = parent.data;
    while (p[a] !== a) {
      p[a] = p[p[a]];
      a = p[a];
    }
    return a;
  };
  const union = (a: number, b: number) => {
    const ra = find(a), rb = find(b);
    // the smaller index (the run met first) stays the root
    if (ra < rb) parent.data[rb] = ra;
    else if (rb < ra) parent.data[ra] = rb;
  };
  let prevFirst = 0, prevCount = 0;
  for (let y = 0; y < height; y++) {
    const first = starts.length;
    const row = y * width;
    let x = 0;
    while (x < width) {
      while (x < width && !mask[row + x]) x++;
      if (x === width) break;
      const s = x;
      while (x < width && mask[row + x]) x++;
      const id = starts.length;
      starts.push(s);
      ends.push(x);
      parent.push(id);
      rowOf.push(y);
      // runs of the row above that touch [s, x) including diagonals: [s - 1, x + 1)
      for (let k = prevFirst; k < prevFirst + prevCount; k++) {
        if (starts.data[k] <= x && ends.data[k] >= s) union(k, id);
      }
    }
    prevFirst = first;
    prevCount = starts.length - first;
  }
  const runs = starts.length;
  const size = new Float64Array(runs);
  let regions = 0, total = 0;
  for (let i = 0; i < runs; i++) {
    const r = find(i);
    if (r === i) regions++;
    size[r] += ends.data[i] - starts.data[i];
    total += ends.data[i] - starts.data[i];
  }
  let best = -1, bestSize = 0;
  for (let i = 0; i < runs; i++) {
    if (parent.data[i] === i && size[i] > bestSize) {
      bestSize = size[i];
      best = i;
    }
  }
  const out = inPlace ? mask : new Uint8Array(n);
  if (inPlace) out.fill(0);
  for (let i = 0; i < runs; i++) {
    if (best >= 0 && find(i) === best) {
      const row = rowOf.data[i] * width;
      out.fill(1, row + starts.data[i], row + ends.data[i]);
    }
  }
  return { mask: out, regions, removedPixels: total - bestSize };
}
