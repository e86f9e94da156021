import assert from "node:assert/strict";
import { seededRandom } from "../../../../lib/onnx_builder.ts";
import { distanceTransform, squaredDistanceTransform } from "../../../../lib/metrics/edt.ts";

/** The definition: min over feature pixels of the squared distance (O(n²), tiny images only). */
function bruteForce(feature: Uint8Array, w: number, h: number): Float64Array {
  const out = new Float64Array(w * h).fill(Infinity);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let fy = 0; fy < h; fy++) {
        for (let fx = 0; fx < w; fx++) {
          if (feature[fy * w + fx]) {
            out[y * w + x] = Math.min(out[y * w + x], (x - fx) ** 2 + (y - fy) ** 2);
          }
        }
      }
    }
  }
  return out;
}

Deno.test("EDT of a single row and a single point", () => {
  assert.deepEqual([...squaredDistanceTransform(Uint8Array.from([1, 0, 0, 0]), 4, 1)], [
    0,
    1,
    4,
    9,
  ]);
  const d = distanceTransform(Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), 3, 3);
  assert.deepEqual([...d], [Math.SQRT2, 1, Math.SQRT2, 1, 0, 1, Math.SQRT2, 1, Math.SQRT2]);
});

Deno.test("EDT equals the brute-force definition on random images", () => {
  const rand = seededRandom(11);
  for (let trial = 0; trial < 60; trial++) {
    const w = 1 + Math.floor(rand() * 17), h = 1 + Math.floor(rand() * 17);
    const density = [0.02, 0.1, 0.5, 0.95][trial % 4];
    const feature = Uint8Array.from({ length: w * h }, () => (rand() < density ? 1 : 0));
    if (!feature.some((v) => v)) feature[Math.floor(rand() * w * h)] = 1;
    assert.deepEqual(
      [...squaredDistanceTransform(feature, w, h)],
      [...bruteForce(feature, w, h)],
      `trial ${trial} (${w}×${h})`,
    );
  }
});

Deno.test("EDT without feature pixels is Infinity; bad sizes throw", () => {
  assert.ok(distanceTransform(new Uint8Array(6), 3, 2).every((v) => v === Infinity));
  assert.equal(distanceTransform(new Uint8Array(0), 0, 0).length, 0);
  assert.throws(() => distanceTransform(new Uint8Array(5), 3, 2), RangeError);
});
