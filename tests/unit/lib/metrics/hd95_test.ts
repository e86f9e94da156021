import assert from "node:assert/strict";
import { boundary } from "../../../../lib/metrics/boundary.ts";
// @ts-types="npm:@types/d3-array@3.2.2"
import { quantile } from "d3-array";
import { hd95 } from "../../../../lib/metrics/hd95.ts";

function rect(w: number, h: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 1;
  return m;
}

Deno.test("boundary keeps the rim of a square and everything touching the image border", () => {
  const b = boundary(rect(5, 5, 1, 1, 4, 4), 5, 5);
  assert.equal(b.reduce((a, v) => a + v, 0), 8); // 3×3 square: all but the centre
  assert.equal(b[2 * 5 + 2], 0);
  const full = boundary(new Uint8Array(9).fill(1), 3, 3);
  assert.deepEqual([...full], [1, 1, 1, 1, 0, 1, 1, 1, 1]);
});

Deno.test("percentile interpolates linearly like NumPy", () => {
  // the definition hd95 relies on (d3-array's quantile), as tools/distill/metrics.py's NumPy
  assert.equal(quantile([3, 1, 2, 4], 0.5), 2.5);
  assert.equal(quantile([0, 10], 0.95), 9.5);
  assert.equal(quantile([7], 0.95), 7);
  assert.equal(quantile([], 0.95), undefined);
});

Deno.test("hd95 of identical masks is 0, of a shifted square its shift", () => {
  const a = rect(20, 20, 5, 5, 10, 10);
  assert.equal(hd95(a, a, 20, 20), 0);
  const shifted = rect(20, 20, 8, 5, 13, 10); // 3 px to the right
  assert.equal(hd95(a, shifted, 20, 20), 3);
});

Deno.test("hd95 of two single pixels is their distance", () => {
  const p = new Uint8Array(50), t = new Uint8Array(50);
  p[0] = 1;
  t[4 * 10 + 3] = 1; // (3, 4) in a 10×5 image
  assert.equal(hd95(p, t, 10, 5), 5);
});

Deno.test("hd95 empty-mask conventions: both empty 0, one empty the diagonal", () => {
  const empty = new Uint8Array(12), some = rect(4, 3, 1, 1, 2, 2);
  assert.equal(hd95(empty, empty, 4, 3), 0);
  assert.equal(hd95(empty, some, 4, 3), 5);
  assert.equal(hd95(some, empty, 4, 3), 5);
  assert.throws(() => hd95(empty, new Uint8Array(11), 4, 3), RangeError);
});
