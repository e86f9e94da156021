import assert from "node:assert/strict";
import { decodePng, unfilterPaeth } from "../../../src/imaging/decode_png.ts";
import { HC18_SAMPLE, ISIC_SAMPLE, readSample } from "../../helpers/images.ts";

/** The Paeth predictor as the PNG specification writes it. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

Deno.test("branch-free Paeth equals the specification's predictor for all 2²⁴ (a, b, c)", () => {
  // bpp 256: bytes 0-255 of the row are the left neighbours a = 0…255 (left as they are),
  // bytes 256-511 are filtered zeros, so each becomes paeth(a, b, c) for one (b, c) per call
  const row = new Uint8Array(512), prev = new Uint8Array(512);
  let wrong = 0;
  for (let b = 0; b < 256; b++) {
    for (let c = 0; c < 256; c++) {
      for (let a = 0; a < 256; a++) row[a] = a;
      row.fill(0, 256);
      prev.fill(c, 0, 256);
      prev.fill(b, 256);
      unfilterPaeth(row, prev, 256, 512);
      for (let a = 0; a < 256; a++) if (row[256 + a] !== paeth(a, b, c)) wrong++;
    }
  }
  assert.equal(wrong, 0);
});

Deno.test("branch-free Paeth adds the prediction to the filtered byte modulo 256", () => {
  const prev = Uint8Array.from([0, 0, 0, 250, 10, 20]);
  const row = Uint8Array.from([100, 200, 30, 200, 250, 7]);
  const want = Array.from(row);
  for (let i = 3; i < 6; i++) want[i] = (row[i] + paeth(want[i - 3], prev[i], prev[i - 3])) & 255;
  unfilterPaeth(row, prev, 3, 6);
  assert.deepEqual(Array.from(row), want);
});

Deno.test("Paeth unfiltering of RGB rows (their own loop) and of other pixel sizes equals the specification's", () => {
  let seed = 7; // xorshift32: every byte value, no pattern a wrong channel could hide in
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed & 255;
  };
  for (const bpp of [1, 2, 3, 4, 6, 8]) {
    for (let trial = 0; trial < 50; trial++) {
      const n = bpp * (1 + (trial % 40));
      const prev = Uint8Array.from({ length: n }, random);
      const row = Uint8Array.from({ length: n }, random);
      const want = Array.from(row);
      for (let i = bpp; i < n; i++) {
        want[i] = (row[i] + paeth(want[i - bpp], prev[i], prev[i - bpp])) & 255;
      }
      unfilterPaeth(row, prev, bpp, n);
      assert.deepEqual(Array.from(row), want, `bpp ${bpp}, ${n} bytes`);
    }
  }
});

/** SHA-256 of the samples PIL 9.4 reads: `hashlib.sha256(numpy.asarray(Image.open(f)).tobytes())`. */
const PIL_SHA256 = {
  isic: "08b71462b731d957ccef300cfdf98134677f13ef1963c2c0633972f0cb2cc072",
  hc18: "b586ef4e5762054a111dd2ed66a94404825d8ec1147fd577608f455fd66cad9c",
};

async function sha256(data: Uint8Array | Uint16Array | Float32Array): Promise<string> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("the shipped samples (Paeth and Sub rows) decode to exactly the samples PIL reads", async () => {
  const isic = decodePng(await readSample(ISIC_SAMPLE), { maxPixels: 1 << 24 });
  const hc18 = decodePng(await readSample(HC18_SAMPLE), { maxPixels: 1 << 24 });
  assert.deepEqual([isic.width, isic.height, isic.channels], [256, 192, 3]);
  assert.equal(await sha256(isic.data), PIL_SHA256.isic);
  assert.deepEqual([hc18.width, hc18.height, hc18.channels], [256, 173, 1]);
  assert.equal(await sha256(hc18.data), PIL_SHA256.hc18);
});
