/**
 * Compressed DICOM decoding: every transfer syntax, made in the test from an uncompressed
 * twin with dcmtk, OpenJPEG and OpenJPH, decodes to the same pixels (lossless) or close
 * ones (lossy) as the twin.
 */
import assert from "node:assert/strict";
import { decodeDicom } from "../../../src/imaging/decode_dicom.ts";
import type { DecodedImage } from "../../../src/imaging/image.ts";
import { makeDicom, pngAsDicom } from "../../helpers/dicom.ts";
import { compressedTwins, type RawFrame } from "../../helpers/dicom_compress.ts";
import { HC18_SAMPLE, ISIC_SAMPLE } from "../../helpers/images.ts";
import { decode as decodePng } from "fast-png";

const LIMITS = { maxPixels: 16_777_216 };

function meanAbsDiff(a: DecodedImage, b: DecodedImage): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    sum += Math.abs(a.data[i] / a.maxValue - b.data[i] / b.maxValue);
  }
  return sum / a.data.length;
}

async function samplePng(url: URL): Promise<RawFrame> {
  const png = decodePng(await Deno.readFile(url));
  return {
    width: png.width,
    height: png.height,
    components: png.channels as 1 | 3,
    bits: 8,
    signed: false,
    samples: png.data,
  };
}

for (
  const [label, url] of [["grey ultrasound", HC18_SAMPLE], ["RGB dermoscopy", ISIC_SAMPLE]] as const
) {
  Deno.test(`every compressed syntax decodes like its uncompressed twin: ${label}`, async () => {
    const raw = await samplePng(url);
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
