/**
 * The compressed-DICOM part of the fuzz corpus: valid files of every compressed transfer
 * syntax (made once per run with dcmtk, OpenJPEG and OpenJPH from small uncompressed
 * images), then broken in seeded ways — flipped and truncated codestreams, random
 * fragments, a header that disagrees with the codestream, decompression bombs (huge
 * Rows × Columns over a tiny codestream), corrupt Basic Offset Tables, fragment lengths
 * past the end of the file, frame counts that do not match, truncated files. A correct
 * server answers each with a 4xx JSON error.
 *
 * @module
 */
import { seededRandom } from "../../lib/onnx_builder.ts";
import { makeDicom } from "./dicom.ts";
import { compressedTwins, encapsulate, encapsulatedPixelData } from "./dicom_compress.ts";
import type { FuzzCase } from "./fuzz_corpus.ts";
import type { Bytes } from "./images.ts";

/** One valid compressed file and what it was made from. */
export interface DicomSeed {
  transferSyntax: string;
  /** the uncompressed twin (dataset the frames are put back into) */
  source: Bytes;
  /** the compressed frame */
  frame: Uint8Array;
  bytes: Bytes;
  colour: boolean;
}

/** Where the encapsulated Pixel Data of a file starts (its tag). */
function pixelDataStart(file: Uint8Array): number {
  for (let i = file.length - 12; i >= 132; i--) {
    if (
      file[i] === 0xe0 && file[i + 1] === 0x7f && file[i + 2] === 0x10 && file[i + 3] === 0x00 &&
      file[i + 4] === 0x4f && file[i + 5] === 0x42
    ) return i;
  }
  throw new Error("no encapsulated Pixel Data");
}

/** Valid compressed files of every syntax, grey and RGB (about a second of dcmtk/opj runs). */
export async function dicomFuzzSeeds(): Promise<DicomSeed[]> {
  const seeds: DicomSeed[] = [];
  for (const components of [1, 3] as const) {
    const w = 64, h = 48;
    const samples = Array.from({ length: w * h * components }, (_, i) => (i * 13 + (i >> 6)) % 256);
    const source = makeDicom({
      rows: h,
      columns: w,
      pixels: samples,
      photometric: components === 3 ? "RGB" : "MONOCHROME2",
    });
    for (
      const twin of await compressedTwins(source, {
        width: w,
        height: h,
        components,
        bits: 8,
        signed: false,
        samples,
      })
    ) {
      const start = pixelDataStart(twin.bytes);
      // first fragment after the (possibly empty) offset table: tag 4 + VR 4 + length 4
      const v = new DataView(twin.bytes.buffer, twin.bytes.byteOffset);
      const tableLength = v.getUint32(start + 16, true);
      const fragStart = start + 20 + tableLength;
      const fragLength = v.getUint32(fragStart + 4, true);
      seeds.push({
        transferSyntax: twin.transferSyntax,
        source,
        frame: twin.bytes.slice(fragStart + 8, fragStart + 8 + fragLength),
        bytes: twin.bytes,
        colour: components === 3,
      });
    }
  }
  return seeds;
}

/** `count` broken compressed DICOM requests from `seed`. */
export function* dicomFuzzCases(
  seed: number,
  count: number,
  seeds: DicomSeed[],
  path = "/v1/models/lesion/segment",
): Generator<FuzzCase> {
  const rnd = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const request = (body: Uint8Array, note: string, kind: string, query = ""): FuzzCase => ({
    kind,
    note,
    method: "POST",
    path: `${path}?format=${pick(["json", "png", "dicom-seg"])}${query}`,
    headers: { "content-type": pick(["application/dicom", "application/octet-stream"]) },
    body: body as Bytes,
  });
  const rebuild = (
    s: DicomSeed,
    frames: Uint8Array[],
    overrides: Record<string, unknown> = {},
    offsetTable = true,
  ) =>
    encapsulate(
      s.source,
      frames,
      s.transferSyntax,
      s.colour && /\.4\.(90|91|20[123])$/.test(s.transferSyntax)
        ? { PhotometricInterpretation: "YBR_RCT", ...overrides }
        : overrides,
      { offsetTable },
    );
  const generators: Record<string, () => FuzzCase> = {
    dicom_codestream_flipped: () => {
      const s = pick(seeds);
      const frame = s.frame.slice();
      const flips = int(1, 24);
      // keep the first bytes (marker and header) so the codec gets past its header check
      for (let k = 0; k < flips; k++) {
        frame[int(Math.min(40, frame.length - 1), frame.length - 1)] ^= 1 << int(0, 7);
      }
      return request(
        rebuild(s, [frame]),
        `${s.transferSyntax}: ${flips} bits flipped`,
        "dicom_codestream_flipped",
      );
    },
    dicom_codestream_truncated: () => {
      const s = pick(seeds);
      const cut = int(0, s.frame.length - 1);
      return request(
        rebuild(s, [s.frame.subarray(0, cut)]),
        `${s.transferSyntax}: frame cut at ${cut}/${s.frame.length}`,
        "dicom_codestream_truncated",
      );
    },
    dicom_random_fragment: () => {
      const s = pick(seeds);
      const frame = Uint8Array.from({ length: int(1, 600) }, () => int(0, 255));
      if (rnd() < 0.5) frame.set(s.frame.subarray(0, Math.min(frame.length, int(2, 60))));
      return request(
        rebuild(s, [frame]),
        `${s.transferSyntax}: random fragment`,
        "dicom_random_fragment",
      );
    },
    dicom_header_mismatch: () => {
      const s = pick(seeds);
      const field = pick(
        [
          "Rows",
          "Columns",
          "SamplesPerPixel",
          "BitsAllocated",
          "BitsStored",
          "PhotometricInterpretation",
        ] as const,
      );
      const value = field === "PhotometricInterpretation"
        ? pick(["MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR", "YBR_ICT"])
        : field === "SamplesPerPixel"
        ? pick([1, 3, 4])
        : field === "BitsAllocated"
        ? pick([1, 8, 16, 32, 64])
        : field === "BitsStored"
        ? pick([1, 7, 12, 16, 33])
        : pick([1, 2, 47, 49, 63, 65, 1000]);
      return request(
        rebuild(s, [s.frame], { [field]: value }),
        `${s.transferSyntax}: ${field} ${value}`,
        "dicom_header_mismatch",
      );
    },
    dicom_bomb: () => {
      const s = pick(seeds);
      const [rows, columns] = pick([[65535, 65535], [20000, 20000], [1001, 1000], [4096, 4096]]);
      return request(
        rebuild(s, [s.frame], { Rows: rows, Columns: columns }),
        `${s.transferSyntax}: declares ${columns}×${rows}`,
        "dicom_bomb",
      );
    },
    dicom_offset_table_corrupt: () => {
      const s = pick(seeds);
      const frames = int(1, 4);
      const file = rebuild(s, Array(frames).fill(s.frame), {}, true);
      const start = pixelDataStart(file);
      const v = new DataView(file.buffer, file.byteOffset);
      for (let k = 0; k < frames; k++) {
        v.setUint32(start + 20 + 4 * k, pick([0, 1, 7, 2 ** 31, int(0, 99999)]), true);
      }
      return request(
        file,
        `${s.transferSyntax}: ${frames} frames, table scrambled`,
        "dicom_offset_table_corrupt",
        `&frame=${int(1, frames)}`,
      );
    },
    dicom_fragment_overflow: () => {
      const s = pick(seeds);
      const file = s.bytes.slice();
      const start = pixelDataStart(file);
      const v = new DataView(file.buffer);
      const tableLength = v.getUint32(start + 16, true);
      v.setUint32(
        start + 20 + tableLength + 4,
        pick([file.length, 2 ** 31, 0xfffffffe, s.frame.length + 9]),
        true,
      );
      return request(
        file,
        `${s.transferSyntax}: fragment length past the end`,
        "dicom_fragment_overflow",
      );
    },
    dicom_frames_mismatch: () => {
      const s = pick(seeds);
      const frames = int(2, 5);
      const stored = int(1, frames - 1);
      const file = rebuild(
        s,
        Array(stored).fill(s.frame),
        { NumberOfFrames: String(frames) },
        rnd() < 0.5,
      );
      return request(
        file,
        `${s.transferSyntax}: says ${frames} frames, has ${stored}`,
        "dicom_frames_mismatch",
        `&frame=${int(1, frames)}`,
      );
    },
    dicom_truncated_file: () => {
      const s = pick(seeds);
      const start = pixelDataStart(s.bytes);
      const cut = int(start, s.bytes.length - 1);
      return request(
        s.bytes.slice(0, cut),
        `${s.transferSyntax}: file cut at ${cut}`,
        "dicom_truncated_file",
      );
    },
    dicom_defined_length_pixels: () => {
      const s = pick(seeds);
      const file = s.bytes.slice();
      const start = pixelDataStart(file);
      new DataView(file.buffer).setUint32(start + 8, file.length - start - 12, true);
      return request(
        file,
        `${s.transferSyntax}: Pixel Data with a defined length`,
        "dicom_defined_length_pixels",
      );
    },
    dicom_empty_fragments: () => {
      const s = pick(seeds);
      const tail = encapsulatedPixelData([new Uint8Array(0)]);
      const file = rebuild(s, [s.frame]);
      const start = pixelDataStart(file);
      const out = new Uint8Array(start + tail.length);
      out.set(file.subarray(0, start));
      out.set(tail, start);
      return request(out, `${s.transferSyntax}: one empty fragment`, "dicom_empty_fragments");
    },
  };
  const kinds = Object.keys(generators);
  for (let i = 0; i < count; i++) yield generators[kinds[i % kinds.length]]();
}
