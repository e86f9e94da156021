import assert from "node:assert/strict";
import type { DecodedImage } from "../../../src/imaging/image.ts";
import { postprocess } from "../../../src/imaging/postprocess.ts";
import { planGeometry, preprocess, toPlanes } from "../../../src/imaging/preprocess.ts";
import { resizePlane } from "../../../src/imaging/resize.ts";
import { InputSpecSchema } from "../../../src/models/card.ts";

const spec = (over: Record<string, unknown> = {}) =>
  InputSpecSchema.parse({ channels: 3, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], ...over });

function image(
  width: number,
  height: number,
  channels: 1 | 3,
  fill: (x: number, y: number, c: number) => number,
): DecodedImage {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = fill(x, y, c);
    }
  }
  return { width, height, channels, data, maxValue: 255, source: "test" };
}

Deno.test("dynamic model: pads centred to the multiple, no resize without long_side", () => {
  const g = planGeometry(100, 50, spec());
  assert.deepEqual(g, {
    width: 100,
    height: 50,
    scaledWidth: 100,
    scaledHeight: 50,
    inputWidth: 112,
    inputHeight: 64,
    padTop: 7,
    padLeft: 6,
  });
});

Deno.test("dynamic model with long_side resizes keeping the aspect ratio", () => {
  const g = planGeometry(1000, 500, spec({ resize: { long_side: 256 } }));
  assert.equal(g.scaledWidth, 256);
  assert.equal(g.scaledHeight, 128);
  assert.equal(g.inputWidth, 256);
  assert.equal(g.inputHeight, 128);
  const same = planGeometry(256, 192, spec({ resize: { long_side: 256 } }));
  assert.equal(same.scaledWidth, 256);
  assert.equal(same.scaledHeight, 192);
});

Deno.test("fixed-size model letterboxes into its input", () => {
  const g = planGeometry(300, 100, spec({ height: 128, width: 128 }));
  assert.deepEqual([g.inputWidth, g.inputHeight, g.scaledWidth, g.scaledHeight], [
    128,
    128,
    128,
    43,
  ]);
  assert.equal(g.padTop, 42);
  assert.equal(g.padLeft, 0);
});

Deno.test("normalisation and zero padding land where the geometry says", () => {
  const img = image(20, 10, 3, (_x, _y, c) => [255, 0, 128][c]);
  const { tensor, geometry: g } = preprocess(img, spec());
  assert.deepEqual(tensor.dims, [1, 3, 16, 32]);
  const plane = 16 * 32;
  const at = (c: number, y: number, x: number) => tensor.data[c * plane + y * 32 + x];
  assert.equal(at(0, 0, 0), 0); // padding
  assert.ok(Math.abs(at(0, g.padTop, g.padLeft) - 1) < 1e-6); // (1-0.5)/0.5
  assert.ok(Math.abs(at(1, g.padTop, g.padLeft) + 1) < 1e-6); // (0-0.5)/0.5
  assert.ok(Math.abs(at(2, g.padTop + 9, g.padLeft + 19) - (128 / 255 - 0.5) / 0.5) < 1e-6);
  assert.equal(at(2, g.padTop + 10, g.padLeft), 0);
});

Deno.test("grey → RGB replicates, RGB → grey uses BT.601 luma", () => {
  const grey = image(2, 1, 1, () => 100);
  const rgbPlanes = toPlanes(grey, 3);
  assert.equal(rgbPlanes.length, 3);
  assert.ok(rgbPlanes.every((p) => Math.abs(p[0] - 100 / 255) < 1e-7));
  const rgb = image(1, 1, 3, (_x, _y, c) => [200, 100, 50][c]);
  const [luma] = toPlanes(rgb, 1);
  assert.ok(Math.abs(luma[0] - (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255) < 1e-6);
});

Deno.test("resize keeps a constant image constant and averages when shrinking", () => {
  const flat = new Float32Array(40 * 30).fill(0.25);
  const out = resizePlane(flat, 40, 30, 13, 7);
  assert.ok(out.every((v) => Math.abs(v - 0.25) < 1e-6));
  // a 1-px checkerboard shrunk 4× becomes ~0.5 everywhere (antialiasing), not aliased 0/1
  const checker = new Float32Array(64 * 64).map((_, i) => ((i % 64) + Math.floor(i / 64)) % 2);
  const small = resizePlane(checker, 64, 64, 16, 16);
  assert.ok(
    small.every((v) => Math.abs(v - 0.5) < 0.05),
    `min ${Math.min(...small)} max ${Math.max(...small)}`,
  );
  // upscaling a step keeps the step's sides
  const step = Float32Array.from([0, 0, 1, 1]);
  const up = resizePlane(step, 4, 1, 8, 1);
  assert.equal(up[0], 0);
  assert.equal(up[7], 1);
});

Deno.test("postprocess crops padding, applies the sigmoid, restores the original size", () => {
  const s = spec({ resize: { long_side: 40 } });
  const img = image(80, 40, 3, () => 0);
  const { geometry: g } = preprocess(img, s);
  assert.deepEqual([g.scaledWidth, g.scaledHeight, g.inputWidth, g.inputHeight], [40, 20, 48, 32]);
  // logits: +10 on the left half of the image area, -10 elsewhere (including padding)
  const data = new Float32Array(g.inputWidth * g.inputHeight).fill(-10);
  for (let y = 0; y < g.scaledHeight; y++) {
    for (let x = 0; x < g.scaledWidth / 2; x++) {
      data[(y + g.padTop) * g.inputWidth + x + g.padLeft] = 10;
    }
  }
  const seg = postprocess({ data, dims: [1, 1, g.inputHeight, g.inputWidth] }, g, "logits", 0.5);
  assert.equal(seg.width, 80);
  assert.equal(seg.height, 40);
  assert.equal(seg.mask[0], 1);
  assert.equal(seg.mask[39], 1);
  assert.equal(seg.mask[40], 0);
  assert.equal(seg.mask[79], 0);
  assert.equal(seg.mask.reduce((a, b) => a + b, 0), 40 * 40);
  assert.throws(() => postprocess({ data, dims: [1, 1, 8, 8] }, g, "logits", 0.5), /shape/);
});
