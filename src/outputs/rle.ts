/**
 * COCO run-length encoding of a binary mask, as pycocotools writes it: runs counted in
 * column-major order starting with background, compressed to the ASCII `counts` string.
 *
 * @module
 */

/** A COCO RLE object: `{size: [height, width], counts}`. */
export interface CocoRle {
  size: [number, number];
  counts: string;
}

/** Run lengths of a row-major mask, in column-major order, starting with zeros. */
export function runLengths(mask: Uint8Array, width: number, height: number): number[] {
  const counts: number[] = [];
  let current = 0, run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return counts;
}

/** Compresses run lengths to the COCO string (pycocotools `rleToString`). */
export function countsToString(counts: number[]): string {
  let s = "";
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = (c & 0x10) ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** Decodes a COCO counts string back to run lengths (for tests and clients). */
export function stringToCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** Encodes a row-major binary mask as COCO RLE. */
export function encodeRle(mask: Uint8Array, width: number, height: number): CocoRle {
  return { size: [height, width], counts: countsToString(runLengths(mask, width, height)) };
}
