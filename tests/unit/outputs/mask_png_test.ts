import assert from "node:assert/strict";
import { decode } from "fast-png";
import { encodeMaskPng } from "../../../src/outputs/mask_png.ts";

function randomMask(w: number, h: number, seed: number): Uint8Array {
  let s = seed;
  const m = new Uint8Array(w * h);
  for (let i = 0; i < m.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    m[i] = s % 7 < 3 ? 1 : 0;
  }
  return m;
}

Deno.test("mask PNG: every filter/level writes an 8-bit grey PNG that decodes to the 0/255 mask", () => {
  for (const [w, h] of [[1, 1], [256, 192], [17, 3], [3, 40]]) {
    const mask = randomMask(w, h, w * 31 + h);
    for (const filter of [0, 2] as const) {
      for (const level of [0, 1, 6]) {
        const png = decode(encodeMaskPng(mask, w, h, { filter, level }));
        assert.equal(png.width, w);
        assert.equal(png.height, h);
        assert.equal(png.depth, 8);
        assert.equal(png.channels, 1);
        assert.deepEqual(Array.from(png.data), Array.from(mask, (v) => (v ? 255 : 0)));
      }
    }
  }
});
