/**
 * The codec worker: nothing starts until a compressed frame arrives (PNG and uncompressed
 * DICOM leave it off), and a frame that keeps a codec busy past its time limit is refused
 * as corrupt while the event loop keeps running; the next frame decodes in a fresh worker.
 */
import assert from "node:assert/strict";
import { decodeImage } from "../../../src/imaging/decode.ts";
import {
  closeCodecWorker,
  codecWorkerRunning,
  decodeInWorker,
  decodeTimeoutMs,
} from "../../../src/imaging/dicom_codec_pool.ts";
import { ApiError } from "../../../src/errors.ts";
import { makeDicom } from "../../helpers/dicom.ts";
import { dcmtk } from "../../helpers/dicom_compress.ts";
import { makePng } from "../../helpers/images.ts";

const LIMITS = { maxPixels: 1_000_000 };

Deno.test("codecs load lazily; a codec stuck on a frame is stopped at its limit, the event loop runs on", async () => {
  const w = 64, h = 48;
  const pixels = Array.from({ length: w * h }, (_, i) => (i * 13 + (i >> 6)) % 256);
  const plain = makeDicom({ rows: h, columns: w, pixels });
  await decodeImage(makePng(16, 16, 3), "image/png", LIMITS);
  await decodeImage(plain, "application/dicom", LIMITS);
  assert.equal(codecWorkerRunning(), false, "PNG and uncompressed DICOM start no codec worker");

  const jpegLs = await dcmtk(plain, "dcmcjpls", ["+el"]);
  const image = await decodeImage(jpegLs, "application/dicom", LIMITS);
  assert.equal(image.dicom?.transferSyntax, "1.2.840.10008.1.2.4.80");
  assert.equal(codecWorkerRunning(), true);

  // CharLS spins on this truncated stream (tens of seconds in-thread)
  const start = jpegLs.findLastIndex((_, i) => jpegLs[i] === 0xff && jpegLs[i + 1] === 0xd8);
  const truncated = jpegLs.slice(start, start + 30);
  const g = {
    rows: h,
    columns: w,
    samplesPerPixel: 1,
    bitsAllocated: 8,
    bitsStored: 8,
    signed: false,
  };
  let ticks = 0;
  const tick = setInterval(() => ticks++, 50);
  const t0 = performance.now();
  await assert.rejects(decodeInWorker("jpeg-ls", truncated, g), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, "bad_dicom");
    assert.match(err.message, /did not decode within \d+ ms/);
    return true;
  });
  clearInterval(tick);
  const took = performance.now() - t0;
  assert.ok(took >= decodeTimeoutMs(g) && took < decodeTimeoutMs(g) + 5_000, `took ${took} ms`);
  assert.ok(ticks >= 10, `event loop ran ${ticks} ticks while the codec was stuck`);
  const again = await decodeImage(jpegLs, "application/dicom", LIMITS);
  assert.deepEqual(again.data, image.data, "a fresh worker decodes the next frame");
  closeCodecWorker();
});
