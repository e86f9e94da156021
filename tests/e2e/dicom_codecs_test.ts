/**
 * Compressed DICOM decoding: every transfer syntax, made in the test from an uncompressed
 * twin with dcmtk, OpenJPEG and OpenJPH, decodes to the same pixels (lossless) or close
 * ones (lossy) as the twin; encapsulated multi-frame, colour models, 32-bit samples and
 * the decoded-size limit.
 */
import assert from "node:assert/strict";
import { ApiError } from "../../src/errors.ts";
import { decodeDicom } from "../../src/imaging/decode_dicom.ts";
import type { DecodedImage } from "../../src/imaging/image.ts";
import { makeDicom, pngAsDicom } from "../helpers/dicom.ts";
import {
  COMPRESSED_TS,
  compressedTwins,
  dcmtk,
  encapsulate,
  htj2kEncode,
  opjCompress,
  type RawFrame,
  rawFrameOfPng,
} from "../helpers/dicom_compress.ts";
import { HC18_SAMPLE, ISIC_SAMPLE } from "../helpers/images.ts";

const LIMITS = { maxPixels: 16_777_216 };

function meanAbsDiff(a: DecodedImage, b: DecodedImage): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    sum += Math.abs(a.data[i] / a.maxValue - b.data[i] / b.maxValue);
  }
  return sum / a.data.length;
}

for (
  const [label, url] of [["grey ultrasound", HC18_SAMPLE], ["RGB dermoscopy", ISIC_SAMPLE]] as const
) {
  Deno.test(`every compressed syntax decodes like its uncompressed twin: ${label}`, async () => {
    const raw = await rawFrameOfPng(url);
    const src = await pngAsDicom(url);
    const ref = await decodeDicom(src, LIMITS);
    for (const twin of await compressedTwins(src, raw)) {
      const got = await decodeDicom(twin.bytes, LIMITS);
      assert.equal(got.dicom?.transferSyntax, twin.transferSyntax, twin.name);
      assert.deepEqual([got.width, got.height, got.channels], [
        ref.width,
        ref.height,
        ref.channels,
      ]);
      const diff = meanAbsDiff(got, ref);
      console.log(
        `${label} ${twin.name} (${twin.transferSyntax}): ${twin.bytes.length} bytes, mean |diff| ${
          diff.toFixed(5)
        }`,
      );
      if (twin.lossless) assert.equal(diff, 0, `${twin.name} is lossless`);
      else assert.ok(diff < 0.03, `${twin.name}: mean difference ${diff}`);
    }
  });
}

Deno.test("16-bit signed CT-like data: lossless syntaxes give the same stored values", async () => {
  const w = 64, h = 48;
  const pixels = Array.from({ length: w * h }, (_, i) => ((i * 37) % 3000) - 1024);
  const src = makeDicom({
    rows: h,
    columns: w,
    pixels,
    bitsAllocated: 16,
    bitsStored: 16,
    pixelRepresentation: 1,
    rescale: [1, 0],
    windows: [[40, 400]],
  });
  const ref = await decodeDicom(src, LIMITS);
  const raw: RawFrame = {
    width: w,
    height: h,
    components: 1,
    bits: 16,
    signed: true,
    samples: pixels,
  };
  const twins = await compressedTwins(src, raw, { lossy: false });
  assert.equal(twins.length, 6);
  for (const twin of twins) {
    const got = await decodeDicom(twin.bytes, LIMITS);
    assert.equal(meanAbsDiff(got, ref), 0, twin.name);
  }
});

Deno.test("encapsulated multi-frame: with a Basic Offset Table, one fragment per frame, or frames split over fragments; ?frame picks one", async () => {
  const w = 64, h = 48, frames = 3;
  const frameSamples = (k: number) =>
    Array.from({ length: w * h }, (_, i) => ((i % w) * 3 + k * 70) % 256);
  const all = [0, 1, 2].flatMap(frameSamples);
  const src = makeDicom({
    rows: h,
    columns: w,
    pixels: all,
    frames,
    attributes: { SOPClassUID: "1.2.840.10008.5.1.4.1.1.7.2" },
  });
  const raw = (k: number): RawFrame => ({
    width: w,
    height: h,
    components: 1,
    bits: 8,
    signed: false,
    samples: frameSamples(k),
  });
  const j2k = await Promise.all([0, 1, 2].map((k) => opjCompress(raw(k))));
  const ht = await Promise.all([0, 1, 2].map((k) => htj2kEncode(raw(k))));
  const split = (f: Uint8Array) => [f.subarray(0, 100), f.subarray(100)];
  const files: [string, Uint8Array][] = [
    ["J2K with offset table", encapsulate(src, j2k, COMPRESSED_TS.j2kLossless)],
    [
      "HTJ2K, no offset table",
      encapsulate(src, ht, COMPRESSED_TS.htj2kLossless, {}, { offsetTable: false }),
    ],
    ["dcmcrle (dcmtk's own multi-frame layout)", await dcmtk(src, "dcmcrle", [])],
    ["dcmcjpls", await dcmtk(src, "dcmcjpls", [])],
  ];
  // two fragments per frame and no table: frames found where a codestream starts
  const fragments = j2k.flatMap(split);
  const splitFile = encapsulate(src, fragments, COMPRESSED_TS.j2kLossless, {
    NumberOfFrames: "3",
  }, { offsetTable: false });
  files.push(["J2K split into 2 fragments per frame, no table", splitFile]);
  for (const [name, file] of files) {
    for (const frame of [1, 2, 3]) {
      const got = await decodeDicom(file, { ...LIMITS, frame });
      const want = await decodeDicom(src, { ...LIMITS, frame });
      assert.equal(meanAbsDiff(got, want), 0, `${name}, frame ${frame}`);
      assert.equal(got.dicom?.frame, frame);
      assert.equal(got.dicom?.frames, 3);
    }
    await assert.rejects(decodeDicom(file, LIMITS), /3 frames/, name);
  }
});

Deno.test("colour: YBR_FULL and YBR_FULL_422 (uncompressed and RLE) become RGB; PALETTE COLOR through its tables", async () => {
  const w = 4, h = 2;
  const rgb = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]];
  const byte = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  const ybr = ([r, g, b]: number[]) => [
    byte(0.299 * r + 0.587 * g + 0.114 * b),
    byte(-0.168736 * r - 0.331264 * g + 0.5 * b + 128),
    byte(0.5 * r - 0.418688 * g - 0.081312 * b + 128),
  ];
  const pixels = Array.from({ length: w * h }, (_, i) => rgb[i % 4]);
  const full = makeDicom({
    rows: h,
    columns: w,
    pixels: pixels.flatMap(ybr),
    photometric: "YBR_FULL",
  });
  for (const file of [full, await dcmtk(full, "dcmcrle", [])]) {
    const img = await decodeDicom(file, LIMITS);
    assert.equal(img.channels, 3);
    for (let i = 0; i < w * h; i++) {
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(img.data[3 * i + c] - pixels[i][c]) <= 2, `pixel ${i} channel ${c}`);
      }
    }
  }
  // 4:2:2: pairs of pixels share Cb/Cr (Y1 Y2 Cb Cr)
  const grey = [[10, 10, 10], [200, 200, 200]];
  const packed = [0, 1, 2, 3].flatMap(() => {
    const [y1] = ybr(grey[0]), [y2, cb, cr] = ybr(grey[1]);
    return [y1, y2, cb, cr];
  });
  const sub = makeDicom({ rows: h, columns: w, pixels: packed, photometric: "YBR_FULL_422" });
  const img = await decodeDicom(sub, LIMITS);
  for (let i = 0; i < w * h; i++) {
    assert.ok(Math.abs(img.data[3 * i] - grey[i % 2][0]) <= 2, `422 pixel ${i}`);
  }
  // palette: 16-bit entries
  const lut = (f: (k: number) => number) =>
    new Uint16Array(Array.from({ length: 4 }, (_, k) => f(k))).buffer;
  const palette = makeDicom({
    rows: 1,
    columns: 4,
    pixels: [0, 1, 2, 3],
    photometric: "PALETTE COLOR",
    attributes: {
      RedPaletteColorLookupTableDescriptor: [4, 0, 16],
      GreenPaletteColorLookupTableDescriptor: [4, 0, 16],
      BluePaletteColorLookupTableDescriptor: [4, 0, 16],
      RedPaletteColorLookupTableData: lut((k) => k * 20000),
      GreenPaletteColorLookupTableData: lut(() => 0),
      BluePaletteColorLookupTableData: lut((k) => 65535 - k * 20000),
    },
  });
  const p = await decodeDicom(palette, LIMITS);
  assert.equal(p.channels, 3);
  assert.equal(p.maxValue, 65535);
  assert.deepEqual(Array.from(p.data), [
    0,
    0,
    65535,
    20000,
    0,
    45535,
    40000,
    0,
    25535,
    60000,
    0,
    5535,
  ]);
});

Deno.test("32-bit samples with rescale; the pixel limit is checked from the header before any codec runs", async () => {
  const values = [0, 1_000_000, 2_000_000, 4_000_000_000];
  const wide = makeDicom({
    rows: 2,
    columns: 2,
    pixels: values,
    bitsAllocated: 32,
    rescale: [0.5, -10],
  });
  const img = await decodeDicom(wide, LIMITS);
  const lo = -10, hi = 4_000_000_000 * 0.5 - 10;
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(img.data[i] - (values[i] * 0.5 - 10 - lo) / (hi - lo)) < 1e-6, `pixel ${i}`);
  }
  const signed = makeDicom({
    rows: 1,
    columns: 2,
    pixels: [-5, 5],
    bitsAllocated: 32,
    pixelRepresentation: 1,
    windows: [[0, 20]],
  });
  const s = await decodeDicom(signed, LIMITS);
  assert.ok(s.data[0] < 0.5 && s.data[1] > 0.5);
  // a JPEG 2000 frame of 64×48 in a file that says 5000×5000: refused before decoding
  const raw: RawFrame = {
    width: 64,
    height: 48,
    components: 1,
    bits: 8,
    signed: false,
    samples: Array(64 * 48).fill(7),
  };
  const src = makeDicom({ rows: 48, columns: 64, pixels: Array(64 * 48).fill(7) });
  const frame = await opjCompress(raw);
  const bomb = encapsulate(src, [frame], COMPRESSED_TS.j2kLossless, { Rows: 5000, Columns: 5000 });
  await assert.rejects(decodeDicom(bomb, { maxPixels: 1_000_000 }), /5000×5000 = 25000000 pixels/);
  const lie = encapsulate(src, [frame], COMPRESSED_TS.j2kLossless, { Rows: 40, Columns: 64 });
  await assert.rejects(
    decodeDicom(lie, LIMITS),
    /codestream is 64×48×1; the DICOM header says 64×40×1/,
  );
});

Deno.test("a Basic Offset Table that does not fit (one entry too many, offsets of no fragment) is ignored", async () => {
  const w = 64, h = 48;
  const samples = (k: number) => Array.from({ length: w * h }, (_, i) => (i + 40 * k) % 256);
  const src = makeDicom({ rows: h, columns: w, pixels: [0, 1].flatMap(samples), frames: 2 });
  const frames = await Promise.all(
    [0, 1].map((k) =>
      opjCompress({
        width: w,
        height: h,
        components: 1,
        bits: 8,
        signed: false,
        samples: samples(k),
      })
    ),
  );
  const file = encapsulate(src, [...frames, frames[1]], COMPRESSED_TS.j2kLossless, {
    NumberOfFrames: "2",
  });
  // 3 table entries, 3 fragments, 2 frames: the fragments' codestream starts decide
  await assert.rejects(
    decodeDicom(file, { ...LIMITS, frame: 2 }),
    /cannot tell the 2 frames apart/,
  );
  const two = encapsulate(src, frames, COMPRESSED_TS.j2kLossless);
  const bytes = two.slice();
  const at = bytes.findLastIndex((_, i) =>
    bytes[i] === 0xfe && bytes[i + 1] === 0xff && bytes[i + 2] === 0x00 && bytes[i + 3] === 0xe0 &&
    bytes[i + 4] === 8 && bytes[i + 5] === 0
  );
  new DataView(bytes.buffer).setUint32(at + 12, 12345, true); // second offset points nowhere
  for (const frame of [1, 2]) {
    const got = await decodeDicom(bytes, { ...LIMITS, frame });
    const want = await decodeDicom(src, { ...LIMITS, frame });
    assert.equal(meanAbsDiff(got, want), 0, `frame ${frame}`);
  }
});

Deno.test("12-bit JPEG Extended (process 4) is 415, naming why", async () => {
  const src = makeDicom({
    rows: 48,
    columns: 64,
    pixels: Array.from({ length: 64 * 48 }, (_, i) => (i * 3) % 4096),
    bitsAllocated: 16,
    bitsStored: 12,
  });
  const twelve = await dcmtk(src, "dcmcjpeg", ["+ee"]);
  await assert.rejects(decodeDicom(twelve, LIMITS), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, "unsupported_transfer_syntax");
    assert.match(err.message, /12-bit JPEG Extended \(process 4\) is not supported/);
    return true;
  });
});

Deno.test("RLE keeps the pixel cell: Bits Stored 12 at High Bit 15 decodes like its uncompressed twin", async () => {
  const w = 64, h = 48;
  const src = makeDicom({
    rows: h,
    columns: w,
    pixels: Array.from({ length: w * h }, (_, i) => ((i * 37) % 4096) << 4),
    bitsAllocated: 16,
    bitsStored: 12,
    highBit: 15,
  });
  const ref = await decodeDicom(src, LIMITS);
  const rle = await decodeDicom(await dcmtk(src, "dcmcrle", []), LIMITS);
  assert.equal(rle.dicom?.transferSyntaxName, "RLE Lossless");
  assert.equal(meanAbsDiff(rle, ref), 0);
});

Deno.test("16-bit colour JPEG Lossless is 415 (its decoder would mix up the components)", async () => {
  const src = makeDicom({
    rows: 48,
    columns: 64,
    pixels: Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 997) % 65536),
    photometric: "RGB",
    bitsAllocated: 16,
  });
  const lossless = await dcmtk(src, "dcmcjpeg", ["+e1"]);
  await assert.rejects(decodeDicom(lossless, LIMITS), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, "unsupported_transfer_syntax");
    assert.match(err.message, /colour JPEG Lossless with Bits Allocated 16/);
    return true;
  });
});

Deno.test("a compressed frame over twice its decoded size is 400 bad_dicom, refused before any codec runs", async () => {
  const src = makeDicom({ rows: 48, columns: 64, pixels: Array(64 * 48).fill(7) });
  const huge = new Uint8Array(2 * 64 * 48 + 65536 + 2);
  huge.set([0xff, 0x4f, 0xff, 0x51]); // a J2K start, then nothing a codec would accept
  const file = encapsulate(src, [huge], COMPRESSED_TS.j2kLossless);
  await assert.rejects(decodeDicom(file, LIMITS), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, "bad_dicom");
    assert.match(err.message, /compressed frame 1 is 71682 bytes; more than its decoded size/);
    return true;
  });
});
