import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { decodeImage } from "../../../src/imaging/decode.ts";
import { jpegSize } from "../../../src/imaging/decode_jpeg.ts";
import { ApiError } from "../../../src/errors.ts";
import {
  HC18_SAMPLE,
  ISIC_SAMPLE,
  makeJpeg,
  makePalettePng,
  makePng,
  readSample,
  syntheticPixels,
} from "../../helpers/images.ts";

const limits = { maxPixels: 1_000_000 };

async function rejectsWith(p: Promise<unknown>, status: number, code?: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${err}`);
    assert.equal(err.status, status, err.message);
    if (code) assert.equal(err.code, code);
    return true;
  });
}

Deno.test("PNG 8-bit grey, grey+alpha, RGB, RGBA decode to the right channels and values", async () => {
  for (const [channels, expected] of [[1, 1], [2, 1], [3, 3], [4, 3]] as const) {
    const img = await decodeImage(makePng(20, 10, channels), "image/png", limits);
    assert.equal(img.width, 20);
    assert.equal(img.height, 10);
    assert.equal(img.channels, expected, `PNG with ${channels} channels`);
    assert.equal(img.maxValue, 255);
    const px = syntheticPixels(20, 10, channels);
    // first pixel's first sample survives (alpha dropped, colour kept)
    assert.equal(img.data[0], px[0]);
    assert.equal(img.data[expected * 37], px[channels * 37]);
  }
});

Deno.test("PNG 16-bit keeps full precision with maxValue 65535", async () => {
  const img = await decodeImage(makePng(8, 8, 1, 16), "image/png", limits);
  assert.equal(img.maxValue, 65535);
  assert.ok(img.data instanceof Uint16Array);
  assert.deepEqual(Array.from(img.data.slice(0, 8)), syntheticPixels(8, 8, 1, 65535).slice(0, 8));
  const rgb = await decodeImage(makePng(8, 8, 4, 16), "image/png", limits);
  assert.equal(rgb.channels, 3);
  assert.equal(rgb.maxValue, 65535);
});

Deno.test("palette PNG expands to RGB", async () => {
  const img = await decodeImage(makePalettePng(4, 2), "image/png", limits);
  assert.equal(img.channels, 3);
  assert.deepEqual(Array.from(img.data.slice(0, 12)), [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
});

Deno.test("1-bit grey PNG unpacks to 0/255", async () => {
  const data = new Uint8Array([0b10100000, 0b01000000]); // 3 px wide, 2 rows: 1 0 1 / 0 1 0
  const png = encodePng({ width: 3, height: 2, data, channels: 1, depth: 1 as 8 });
  const img = await decodeImage(png, "image/png", limits);
  assert.deepEqual(Array.from(img.data), [255, 0, 255, 0, 255, 0]);
});

Deno.test("baseline JPEG decodes to RGB close to its source", async () => {
  const img = await decodeImage(makeJpeg(32, 24, 95), "image/jpeg", limits);
  assert.equal(img.channels, 3);
  assert.equal(img.width, 32);
  assert.equal(img.height, 24);
  const px = syntheticPixels(32, 24, 3);
  let err = 0;
  for (let i = 0; i < px.length; i++) err += Math.abs(px[i] - img.data[i]);
  assert.ok(err / px.length < 8, `mean abs error ${err / px.length}`);
  assert.deepEqual(jpegSize(makeJpeg(32, 24)), { width: 32, height: 24, components: 3 });
});

Deno.test("real samples decode at their size (ISIC RGB, HC18 grey)", async () => {
  const isic = await decodeImage(await readSample(ISIC_SAMPLE), "image/png", limits);
  assert.deepEqual([isic.width, isic.height, isic.channels], [256, 192, 3]);
  const hc = await decodeImage(await readSample(HC18_SAMPLE), undefined, limits);
  assert.deepEqual([hc.width, hc.height, hc.channels], [256, 173, 1]);
});

Deno.test("truncated and corrupt images are 400 bad_image", async () => {
  const png = makePng(64, 64, 3);
  await rejectsWith(
    decodeImage(png.subarray(0, png.length - 40), "image/png", limits),
    400,
    "bad_image",
  );
  await rejectsWith(decodeImage(png.subarray(0, 20), "image/png", limits), 400, "bad_image");
  const corrupt = png.slice();
  corrupt.fill(7, 60, 120);
  await rejectsWith(decodeImage(corrupt, "image/png", limits), 400, "bad_image");
  const jpg = makeJpeg(64, 64);
  await rejectsWith(decodeImage(jpg.subarray(0, 30), "image/jpeg", limits), 400, "bad_image");
  await rejectsWith(
    decodeImage(jpg.subarray(0, jpg.length / 2), "image/jpeg", limits),
    400,
    "bad_image",
  );
  await rejectsWith(decodeImage(new Uint8Array(0), "image/png", limits), 400, "bad_image");
});

Deno.test("a PNG declaring a huge size is refused from its header (413) without inflating", async () => {
  const png = makePng(4, 4, 1);
  const view = new DataView(png.buffer, png.byteOffset);
  view.setUint32(16, 50_000);
  view.setUint32(20, 50_000);
  await rejectsWith(decodeImage(png, "image/png", limits), 413, "too_many_pixels");
  await rejectsWith(
    decodeImage(makePng(1001, 1000, 1), "image/png", limits),
    413,
    "too_many_pixels",
  );
});

Deno.test("content type must be an image we take and must match the bytes", async () => {
  const png = makePng(8, 8, 3);
  await rejectsWith(decodeImage(png, "text/plain", limits), 415, "unsupported_media_type");
  await rejectsWith(decodeImage(png, "image/jpeg", limits), 400, "bad_image");
  await rejectsWith(
    decodeImage(new TextEncoder().encode("hello"), "application/octet-stream", limits),
    415,
  );
  await rejectsWith(
    decodeImage(new TextEncoder().encode("hello"), "image/png", limits),
    400,
    "bad_image",
  );
  const ok = await decodeImage(png, "application/octet-stream", limits);
  assert.equal(ok.source, "png");
  const ok2 = await decodeImage(png, "image/png; charset=binary", limits);
  assert.equal(ok2.width, 8);
});
