import assert from "node:assert/strict";
import { decode } from "fast-png";
import { encodePng8 } from "../../../src/outputs/png_writer.ts";

function noise(n: number, seed: number): Uint8Array {
  let s = seed;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

Deno.test("PNG writer: grey and RGB, every filter and level, decode (fast-png) to the samples written", () => {
  for (const channels of [1, 3] as const) {
    for (const [w, h] of [[1, 1], [256, 192], [17, 3], [3, 40]]) {
      const data = noise(w * h * channels, w * 31 + h + channels);
      for (const filter of [0, 2] as const) {
        for (const level of [0, 1, 6]) {
          const png = decode(
            encodePng8({ data, width: w, height: h, channels }, { filter, level }),
          );
          assert.equal(png.width, w);
          assert.equal(png.height, h);
          assert.equal(png.depth, 8);
          assert.equal(png.channels, channels);
          assert.deepEqual(Array.from(png.data), Array.from(data));
        }
      }
    }
  }
});
