import assert from "node:assert/strict";
import { decodeImage } from "../../../src/imaging/decode.ts";
import type { ApiError } from "../../../src/errors.ts";
import { deflateDicom, makeDicom, TS } from "../../helpers/dicom.ts";

const OPTS = { maxPixels: 1_000_000 };

/** The DICOM LINEAR window function (PS3.3 C.11.2.1.2.1), written out independently. */
function linear(x: number, c: number, w: number): number {
  if (x <= c - 0.5 - (w - 1) / 2) return 0;
  if (x > c - 0.5 + (w - 1) / 2) return 1;
  return (x - (c - 0.5)) / (w - 1) + 0.5;
}

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `sample ${i}: ${actual[i]} ≠ ${expected[i]}`,
    );
  }
}

async function rejects(
  bytes: Uint8Array,
  status: number,
  code: string,
  pattern?: RegExp,
  options = {},
) {
  await assert.rejects(
    decodeImage(bytes, "application/dicom", { ...OPTS, ...options }),
    (err: ApiError) => {
      assert.equal(err.code, code, err.message);
      assert.equal(err.status, status);
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

Deno.test("MONOCHROME2 8-bit without a window is stretched min→0, max→1", async () => {
  const img = await decodeImage(
    makeDicom({ rows: 2, columns: 2, pixels: [10, 20, 30, 110] }),
    "application/dicom",
    OPTS,
  );
  assert.deepEqual([img.width, img.height, img.channels, img.maxValue, img.source], [
    2,
    2,
    1,
    1,
    "dicom",
  ]);
  close(img.data, [0, 0.1, 0.2, 1]);
});

Deno.test("MONOCHROME1 is inverted (low stored values are white)", async () => {
  const img = await decodeImage(
    makeDicom({ rows: 1, columns: 3, pixels: [0, 50, 100], photometric: "MONOCHROME1" }),
    "",
    OPTS,
  );
  close(img.data, [1, 0.5, 0]);
});

Deno.test("signed 16-bit with rescale slope/intercept and the file's first window", async () => {
  const stored = [-2000, -100, 0, 20, 150, 2000];
  const [slope, intercept, c, w] = [2, -10, 40, 400];
  const bytes = makeDicom({
    rows: 2,
    columns: 3,
    pixels: stored,
    bitsAllocated: 16,
    bitsStored: 16,
    pixelRepresentation: 1,
    rescale: [slope, intercept],
    windows: [[c, w], [300, 1500]],
  });
  const img = await decodeImage(bytes, "application/dicom", OPTS);
  close(img.data, stored.map((s) => linear(s * slope + intercept, c, w)));
  assert.ok(img.data[0] === 0 && img.data[5] === 1, "values beyond the window clip to 0 and 1");
});

Deno.test("?window overrides the file's window", async () => {
  const stored = [0, 100, 200, 300, 400];
  const bytes = makeDicom({
    rows: 1,
    columns: 5,
    pixels: stored,
    bitsAllocated: 16,
    windows: [[40, 80]],
  });
  const img = await decodeImage(bytes, "application/dicom", { ...OPTS, window: [200, 201] });
  close(img.data, stored.map((s) => linear(s, 200, 201)));
  assert.ok(Math.abs(img.data[2] - 0.5) < 0.01, "the centre maps to mid-grey");
});

Deno.test("LINEAR_EXACT and SIGMOID VOI LUT functions", async () => {
  const stored = [0, 50, 100, 150, 200];
  const exact = await decodeImage(
    makeDicom({
      rows: 1,
      columns: 5,
      pixels: stored,
      windows: [[100, 100]],
      voiLutFunction: "LINEAR_EXACT",
    }),
    "",
    OPTS,
  );
  close(exact.data, [0, 0, 0.5, 1, 1]);
  const sigmoid = await decodeImage(
    makeDicom({
      rows: 1,
      columns: 5,
      pixels: stored,
      windows: [[100, 100]],
      voiLutFunction: "SIGMOID",
    }),
    "",
    OPTS,
  );
  close(sigmoid.data, stored.map((x) => 1 / (1 + Math.exp(-4 * (x - 100) / 100))));
});

Deno.test("Bits Stored < Bits Allocated: high bits are masked off, High Bit honoured", async () => {
  // 12 bits stored in 16: garbage in the top nibble must not show
  const plain = await decodeImage(
    makeDicom({
      rows: 1,
      columns: 3,
      pixels: [0xf000, 0xf800, 0x0fff],
      bitsAllocated: 16,
      bitsStored: 12,
    }),
    "",
    OPTS,
  );
  close(plain.data, [0, 0x800 / 0xfff, 1]);
  // signed 12-bit: 0x800 is -2048, 0x7ff is 2047
  const signed = await decodeImage(
    makeDicom({
      rows: 1,
      columns: 3,
      pixels: [0x0800, 0x0000, 0x07ff],
      bitsAllocated: 16,
      bitsStored: 12,
      pixelRepresentation: 1,
      windows: [[0, 4096]],
    }),
    "",
    OPTS,
  );
  close(signed.data, [-2048, 0, 2047].map((x) => linear(x, 0, 4096)));
  // High Bit 15 with 12 stored bits: values sit in the top 12 bits
  const high = await decodeImage(
    makeDicom({
      rows: 1,
      columns: 2,
      pixels: [0x0010, 0xfff0],
      bitsAllocated: 16,
      bitsStored: 12,
      highBit: 15,
    }),
    "",
    OPTS,
  );
  close(high.data, [0, 1]);
});

Deno.test("RGB 8-bit, planar configuration 0 and 1 give the same interleaved samples", async () => {
  const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
  const planar = [255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30];
  const a = await decodeImage(
    makeDicom({ rows: 2, columns: 2, pixels: rgb, photometric: "RGB", planar: 0 }),
    "",
    OPTS,
  );
  const b = await decodeImage(
    makeDicom({ rows: 2, columns: 2, pixels: planar, photometric: "RGB", planar: 1 }),
    "",
    OPTS,
  );
  assert.deepEqual([a.channels, a.maxValue], [3, 255]);
  assert.deepEqual(Array.from(a.data), rgb);
  assert.deepEqual(Array.from(b.data), rgb);
});

Deno.test("RGB 16-bit keeps its samples with maxValue from Bits Stored", async () => {
  const img = await decodeImage(
    makeDicom({
      rows: 1,
      columns: 1,
      pixels: [4095, 0, 2048],
      photometric: "RGB",
      bitsAllocated: 16,
      bitsStored: 12,
    }),
    "",
    OPTS,
  );
  assert.equal(img.maxValue, 4095);
  assert.deepEqual(Array.from(img.data), [4095, 0, 2048]);
});

Deno.test("implicit VR, explicit big endian and deflated files decode to the same pixels", async () => {
  const f = {
    rows: 2,
    columns: 3,
    pixels: [0, 1000, -1000, 500, 32767, -32768],
    bitsAllocated: 16 as const,
    pixelRepresentation: 1 as const,
    windows: [[0, 2000] as [number, number]],
  };
  const reference = await decodeImage(makeDicom(f), "", OPTS);
  for (
    const bytes of [
      makeDicom({ ...f, transferSyntax: TS.implicitLE }),
      makeDicom({ ...f, transferSyntax: TS.explicitBE }),
      await deflateDicom(makeDicom(f)),
    ]
  ) {
    const img = await decodeImage(bytes, "application/dicom", OPTS);
    assert.deepEqual(Array.from(img.data), Array.from(reference.data));
  }
});

Deno.test("Pixel Spacing, else Imager Pixel Spacing, becomes pixelSpacingMm", async () => {
  const a = await decodeImage(
    makeDicom({
      rows: 1,
      columns: 2,
      pixels: [0, 1],
      pixelSpacing: [0.7, 0.3],
      imagerPixelSpacing: [9, 9],
    }),
    "",
    OPTS,
  );
  assert.deepEqual(a.pixelSpacingMm, [0.7, 0.3]);
  const b = await decodeImage(
    makeDicom({ rows: 1, columns: 2, pixels: [0, 1], imagerPixelSpacing: [0.2, 0.25] }),
    "",
    OPTS,
  );
  assert.deepEqual(b.pixelSpacingMm, [0.2, 0.25]);
  const c = await decodeImage(makeDicom({ rows: 1, columns: 2, pixels: [0, 1] }), "", OPTS);
  assert.equal(c.pixelSpacingMm, undefined);
});

Deno.test("multi-frame: 422 naming the frame count, ?frame picks one, out of range is 400", async () => {
  const bytes = makeDicom({ rows: 1, columns: 2, pixels: [0, 10, 10, 0, 5, 5], frames: 3 });
  await rejects(bytes, 422, "unsupported_image", /3 frames.*frame=1\.\.3/);
  const second = await decodeImage(bytes, "", { ...OPTS, frame: 2 });
  close(second.data, [1, 0]);
  await rejects(bytes, 400, "bad_request", /out of range/, { frame: 4 });
});

Deno.test("transfer syntaxes no codec here decodes are 415 naming the UID and its name", async () => {
  for (
    const [uid, name] of [
      ["1.2.840.10008.1.2.4.100", /MPEG2/],
      ["1.2.840.10008.1.2.4.92", /JPEG 2000 Part 2/],
      ["1.2.840.10008.1.2.4.110", /JPEG XL/],
    ] as const
  ) {
    await rejects(
      makeDicom({ rows: 1, columns: 2, pixels: [1, 2], transferSyntax: uid }),
      415,
      "unsupported_transfer_syntax",
      new RegExp(`${uid.replaceAll(".", "\\.")}.*${name.source}`),
    );
  }
});

Deno.test("truncated or corrupt DICOM is 400 bad_dicom; no pixel data or unsupported encodings are 422", async () => {
  const whole = makeDicom({ rows: 4, columns: 4, pixels: Array(16).fill(3) });
  for (const cut of [60, 140, 300, whole.length - 5]) {
    await rejects(whole.subarray(0, cut), 400, "bad_dicom");
  }
  const shortPixels = makeDicom({ rows: 4, columns: 4, pixels: Array(8).fill(3) });
  await rejects(shortPixels, 400, "bad_dicom", /Pixel Data holds 8 bytes/);
  await rejects(
    makeDicom({ rows: 2, columns: 2, pixels: [], omitPixelData: true }),
    422,
    "unsupported_image",
    /no Pixel Data/,
  );
  await rejects(
    makeDicom({ rows: 1, columns: 1, pixels: [1], photometric: "PALETTE COLOR" }),
    400,
    "bad_dicom",
    /PALETTE COLOR needs/,
  );
  await rejects(
    makeDicom({ rows: 1, columns: 1, pixels: [1], photometric: "YBR_PARTIAL_420" }),
    422,
    "unsupported_image",
    /YBR_PARTIAL_420/,
  );
  await rejects(
    makeDicom({ rows: 1, columns: 2, pixels: [1, 2], transferSyntax: TS.jpegBaseline }),
    400,
    "bad_dicom",
    /JPEG frame has no readable frame header/,
  );
  await rejects(
    makeDicom({ rows: 1, columns: 2, pixels: [1, 2], bitsStored: 9 }),
    400,
    "bad_dicom",
    /bit layout/,
  );
  await rejects(
    makeDicom({ rows: 1, columns: 2, pixels: [1, 2], windows: [[1, 0]] }),
    400,
    "bad_dicom",
    /window/i,
  );
});

Deno.test("window on an RGB file, or an unusable override, is 400", async () => {
  await rejects(
    makeDicom({ rows: 1, columns: 1, pixels: [1, 2, 3], photometric: "RGB" }),
    400,
    "bad_request",
    /greyscale/,
    { window: [1, 2] },
  );
  await rejects(makeDicom({ rows: 1, columns: 1, pixels: [1] }), 400, "bad_request", /below 1/, {
    window: [1, 0.5],
  });
});

Deno.test("over the pixel limit is 413 before pixels are read", async () => {
  await rejects(
    makeDicom({ rows: 100, columns: 100, pixels: [1] }),
    413,
    "too_many_pixels",
    undefined,
    { maxPixels: 5000 },
  );
});
