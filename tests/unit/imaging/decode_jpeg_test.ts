import assert from "node:assert/strict";
import { ApiError } from "../../../src/errors.ts";
import { defaultDecodedBytes } from "../../../src/imaging/decode_budget.ts";
import {
  decodeJpeg,
  jpegDecodeBytes,
  jpegFrame,
  jpegSize,
} from "../../../src/imaging/decode_jpeg.ts";
import { manyScanJpeg } from "../../helpers/attacks.ts";
import { makeJpeg } from "../../helpers/images.ts";

const limits = { maxPixels: 1_000_000 };
const fixture = (name: string) =>
  Deno.readFile(new URL(`../../fixtures/images/${name}`, import.meta.url));

/**
 * SHA-256 of the samples PIL 9.4 (libjpeg-turbo) reads from the fixtures:
 * `hashlib.sha256(numpy.asarray(Image.open(f)).tobytes())`.
 */
const PIL_SHA256: Record<string, string> = {
  "isic_ISIC_0000011_q90.jpg": "aa2949b648430cfd6148bd2b026d2e022559574e91e78f76ab04d0b78dedda5a",
  "isic_ISIC_0000011_q90_progressive.jpg":
    "aa2949b648430cfd6148bd2b026d2e022559574e91e78f76ab04d0b78dedda5a",
  "isic_ISIC_0000011_q90_grey.jpg":
    "f83b5a0b1c003da954721eb6bd096032c70da58955e040f298ee43e04742b713",
};

async function sha256(data: Uint8Array | Uint16Array | Float32Array): Promise<string> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function rejectsWith(p: Promise<unknown>, status: number, code: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${err}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code);
    return true;
  });
}

Deno.test("JPEG decodes to exactly the samples PIL reads (baseline, progressive, grey)", async () => {
  for (const [name, want] of Object.entries(PIL_SHA256)) {
    const img = await decodeJpeg(await fixture(name), limits);
    assert.equal(img.width, 256, name);
    assert.equal(img.height, 192, name);
    assert.equal(img.channels, name.includes("grey") ? 1 : 3, name);
    assert.equal(img.maxValue, 255);
    assert.equal(await sha256(img.data), want, name);
  }
});

Deno.test("JPEG frame header: size, components, precision, progressive, sampling", async () => {
  assert.deepEqual(jpegFrame(await fixture("isic_ISIC_0000011_q90.jpg")), {
    width: 256,
    height: 192,
    components: 3,
    precision: 8,
    progressive: false,
    sampling: [[2, 2], [1, 1], [1, 1]],
  });
  assert.equal(
    jpegFrame(await fixture("isic_ISIC_0000011_q90_progressive.jpg"))?.progressive,
    true,
  );
  assert.deepEqual(jpegSize(makeJpeg(32, 24)), { width: 32, height: 24, components: 3 });
  assert.equal(jpegFrame(new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 17])), null);
});

Deno.test("what libjpeg-turbo holds follows from the header (coefficients only when progressive)", () => {
  const base = { width: 4096, height: 4096, components: 3, precision: 8, progressive: false };
  const s444: [number, number][] = [[1, 1], [1, 1], [1, 1]];
  const s420: [number, number][] = [[2, 2], [1, 1], [1, 1]];
  const rgb = 4096 * 4096 * 3;
  assert.equal(jpegDecodeBytes({ ...base, sampling: s420 }, 100), 100 + rgb);
  // 4:4:4 progressive: 2 bytes per sample of coefficients; 4:2:0: 1.5 samples a pixel
  assert.equal(jpegDecodeBytes({ ...base, progressive: true, sampling: s444 }, 0), rgb * 3);
  assert.equal(
    jpegDecodeBytes({ ...base, progressive: true, sampling: s420 }, 0),
    rgb + 4096 * 4096 * 1.5 * 2,
  );
  // every progressive 4096² JPEG (with a file of up to 16 MiB) fits the default budget
  assert.ok(rgb * 3 + 16 * 2 ** 20 <= defaultDecodedBytes(16_777_216));
});

Deno.test("a JPEG needing more than the decoded-bytes budget is refused before decoding (413)", async () => {
  const progressive = manyScanJpeg(256, 10); // 64 KiB of samples + 128 KiB of coefficients
  await rejectsWith(
    decodeJpeg(progressive, { maxPixels: 1_000_000, maxDecodedBytes: 150_000 }),
    413,
    "too_many_pixels",
  );
  const ok = await decodeJpeg(progressive, { maxPixels: 1_000_000, maxDecodedBytes: 250_000 });
  assert.equal(ok.channels, 1);
  assert.equal(ok.data.length, 256 * 256);
});

/** A JPEG header with one SOF and nothing after it. */
function sofOnly(marker: number, precision: number, components: number): Uint8Array {
  const body = [precision, 0, 16, 0, 16, components];
  for (let c = 0; c < components; c++) body.push(c + 1, 0x11, 0);
  const length = body.length + 2;
  return new Uint8Array([0xff, 0xd8, 0xff, marker, length >> 8, length & 255, ...body, 0, 0]);
}

Deno.test("CMYK and 12-bit JPEGs are refused from the header (422); a bad stream is 400", async () => {
  await rejectsWith(decodeJpeg(sofOnly(0xc0, 8, 4), limits), 422, "unsupported_image");
  await rejectsWith(decodeJpeg(sofOnly(0xc1, 12, 3), limits), 422, "unsupported_image");
  await rejectsWith(decodeJpeg(sofOnly(0xc0, 8, 3), limits), 400, "bad_image");
  const jpg = makeJpeg(64, 64);
  await rejectsWith(decodeJpeg(jpg.subarray(0, jpg.length - 200), limits), 400, "bad_image");
});

Deno.test("a 4096² JPEG's pixel count is checked before decoding (413 under a small limit)", async () => {
  await rejectsWith(
    decodeJpeg(manyScanJpeg(4096, 2), { maxPixels: 4095 * 4096 }),
    413,
    "too_many_pixels",
  );
});
