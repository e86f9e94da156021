/**
 * The Image Pixel module of a parsed DICOM dataset: checked description (size, samples,
 * bit layout, sign, planar configuration, frames) and the stored samples of one frame,
 * masked to Bits Stored, sign-extended and put in interleaved order.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import type { DicomDataSet } from "./dicom_parse.ts";

/** Photometric interpretations the server decodes. */
export type Photometric =
  | "MONOCHROME1"
  | "MONOCHROME2"
  | "PALETTE COLOR"
  | "RGB"
  | "YBR_FULL"
  | "YBR_FULL_422"
  | "YBR_RCT"
  | "YBR_ICT";

const SAMPLES: Record<Photometric, 1 | 3> = {
  "MONOCHROME1": 1,
  "MONOCHROME2": 1,
  "PALETTE COLOR": 1,
  "RGB": 3,
  "YBR_FULL": 3,
  "YBR_FULL_422": 3,
  "YBR_RCT": 3,
  "YBR_ICT": 3,
};

/** Stored sample values: Int32 up to 16 bits, Float64 for 32-bit samples. */
export type Samples = Int32Array | Float64Array;

/** The pixel module, validated. */
export interface PixelModule {
  rows: number;
  columns: number;
  samplesPerPixel: 1 | 3;
  photometric: Photometric;
  bitsAllocated: 8 | 16 | 32;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  /** 0: RGBRGB…, 1: RR…GG…BB… */
  planar: 0 | 1;
  frames: number;
  /** bytes of one decoded frame (Rows × Columns × Samples per Pixel × Bits Allocated / 8) */
  frameBytes: number;
}

const PIXEL_DATA = "x7fe00010";

/**
 * Reads and checks the pixel module.
 * @throws {ApiError} `unsupported_image` (422) for no pixel data or an encoding we do not
 *   decode, `bad_dicom` (400) for inconsistent values, `too_many_pixels` (413)
 */
export function readPixelModule(ds: DicomDataSet, maxPixels: number): PixelModule {
  if (!ds.elements[PIXEL_DATA]) {
    const other = ds.elements.x7fe00008 || ds.elements.x7fe00009
      ? " (float pixel data is not supported)"
      : "";
    throw new ApiError(
      "unsupported_image",
      `the DICOM object has no Pixel Data (7FE0,0010)${other}: it is not an image the server can segment`,
    );
  }
  const rows = ds.uint16("x00280010") ?? 0;
  const columns = ds.uint16("x00280011") ?? 0;
  if (rows === 0 || columns === 0) {
    throw new ApiError(
      "bad_dicom",
      `DICOM Rows (0028,0010) and Columns (0028,0011) must be positive; got ${rows}×${columns}`,
    );
  }
  if (rows * columns > maxPixels) {
    throw new ApiError(
      "too_many_pixels",
      `image is ${columns}×${rows} = ${rows * columns} pixels; the limit is ${maxPixels}`,
    );
  }
  const photometric = (ds.string("x00280004") ?? "").trim().toUpperCase() as Photometric;
  if (!(photometric in SAMPLES)) {
    throw new ApiError(
      "unsupported_image",
      `photometric interpretation "${
        photometric.slice(0, 20) || "(missing)"
      }" is not supported; send one of ${Object.keys(SAMPLES).join(", ")}`,
    );
  }
  const samplesPerPixel = ds.uint16("x00280002") ?? SAMPLES[photometric];
  if (samplesPerPixel !== SAMPLES[photometric]) {
    throw new ApiError(
      "bad_dicom",
      `Samples per Pixel ${samplesPerPixel} does not fit ${photometric}`,
    );
  }
  const bitsAllocated = ds.uint16("x00280100") ?? 0;
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new ApiError(
      "unsupported_image",
      `Bits Allocated ${bitsAllocated} is not supported; 8, 16 and 32 are`,
    );
  }
  if (bitsAllocated === 32 && samplesPerPixel !== 1) {
    throw new ApiError("unsupported_image", "32-bit samples are supported for greyscale only");
  }
  const bitsStored = ds.uint16("x00280101") ?? bitsAllocated;
  const highBit = ds.uint16("x00280102") ?? bitsStored - 1;
  if (
    bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 ||
    highBit >= bitsAllocated
  ) {
    throw new ApiError(
      "bad_dicom",
      `inconsistent bit layout: Bits Allocated ${bitsAllocated}, Bits Stored ${bitsStored}, High Bit ${highBit}`,
    );
  }
  const representation = ds.uint16("x00280103") ?? 0;
  if (representation !== 0 && representation !== 1) {
    throw new ApiError("bad_dicom", `Pixel Representation must be 0 or 1; got ${representation}`);
  }
  const planar = samplesPerPixel === 3 ? ds.uint16("x00280006") ?? 0 : 0;
  if (planar !== 0 && planar !== 1) {
    throw new ApiError("bad_dicom", `Planar Configuration must be 0 or 1; got ${planar}`);
  }
  const frames = ds.intString("x00280008") ?? 1;
  if (!Number.isSafeInteger(frames) || frames < 1) {
    throw new ApiError("bad_dicom", `Number of Frames must be a positive integer; got ${frames}`);
  }
  return {
    rows,
    columns,
    samplesPerPixel: samplesPerPixel as 1 | 3,
    photometric,
    bitsAllocated,
    bitsStored,
    highBit,
    signed: representation === 1,
    planar,
    frames,
    frameBytes: rows * columns * samplesPerPixel * bitsAllocated / 8,
  };
}

/**
 * Stored values from raw sample values: shifted below High Bit, masked to Bits Stored
 * and sign-extended.
 */
export function storedValues(raw: ArrayLike<number>, pm: PixelModule): Samples {
  const n = raw.length;
  if (pm.bitsAllocated === 32) {
    const out = new Float64Array(n);
    const shift = 2 ** (pm.highBit + 1 - pm.bitsStored), range = 2 ** pm.bitsStored;
    for (let i = 0; i < n; i++) {
      let v = Math.floor((raw[i] >>> 0) / shift) % range;
      if (pm.signed && v >= range / 2) v -= range;
      out[i] = v;
    }
    return out;
  }
  const shift = pm.highBit + 1 - pm.bitsStored;
  const mask = (1 << pm.bitsStored) - 1;
  const signBit = 1 << (pm.bitsStored - 1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let v = (raw[i] >> shift) & mask;
    if (pm.signed && (v & signBit)) v -= mask + 1;
    out[i] = v;
  }
  return out;
}

/**
 * The raw sample values of one uncompressed frame, interleaved (planar data and
 * YBR_FULL_422's shared chroma are expanded to three samples per pixel).
 * @param frameIndex 0-based
 * @param bigEndian whether multi-byte samples are stored most significant byte first
 * @throws {ApiError} `bad_dicom` (400) when the pixel data is encapsulated or too short
 */
export function nativeFrame(
  ds: DicomDataSet,
  pm: PixelModule,
  frameIndex: number,
  bigEndian: boolean,
): Samples {
  const el = ds.elements[PIXEL_DATA];
  if (el.encapsulatedPixelData) {
    throw new ApiError(
      "bad_dicom",
      "Pixel Data is encapsulated (compressed) but the transfer syntax says uncompressed",
    );
  }
  const bytesPer = pm.bitsAllocated / 8;
  const subsampled = pm.photometric === "YBR_FULL_422";
  if (subsampled && pm.columns % 2 !== 0) {
    throw new ApiError("bad_dicom", "YBR_FULL_422 needs an even number of Columns");
  }
  const count = subsampled ? pm.rows * pm.columns * 2 : pm.rows * pm.columns * pm.samplesPerPixel;
  const frameBytes = count * bytesPer;
  const needed = frameBytes * pm.frames;
  if (el.length < needed || el.dataOffset + needed > ds.byteArray.length) {
    const has = Math.min(el.length, ds.byteArray.length - el.dataOffset);
    throw new ApiError(
      "bad_dicom",
      `Pixel Data holds ${has} bytes; ${pm.columns}×${pm.rows}×${pm.samplesPerPixel} samples × ${bytesPer} bytes × ${pm.frames} frames need ${needed}`,
    );
  }
  const start = el.dataOffset + frameIndex * frameBytes;
  const bytes = ds.byteArray;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // 8-bit samples in an OW element of a big endian file are swapped in pairs
  const swapBytes = bigEndian && bytesPer === 1 && el.vr === "OW";
  const raw = bytesPer === 4 ? new Uint32Array(count) : new Uint16Array(count);
  for (let i = 0; i < count; i++) {
    raw[i] = bytesPer === 1
      ? bytes[start + (swapBytes ? i ^ 1 : i)]
      : bytesPer === 2
      ? view.getUint16(start + 2 * i, !bigEndian)
      : view.getUint32(start + 4 * i, !bigEndian);
  }
  const stored = storedValues(raw, pm);
  if (subsampled) return expand422(stored as Int32Array);
  if (pm.planar === 0 || pm.samplesPerPixel === 1) return stored;
  return interleavePlanes(stored, pm.rows * pm.columns);
}

/** Y1 Y2 Cb Cr per pair of pixels → Y Cb Cr per pixel. */
function expand422(s: Int32Array): Int32Array {
  const out = new Int32Array((s.length / 4) * 6);
  for (let i = 0, o = 0; i < s.length; i += 4, o += 6) {
    out[o] = s[i];
    out[o + 3] = s[i + 1];
    out[o + 1] = out[o + 4] = s[i + 2];
    out[o + 2] = out[o + 5] = s[i + 3];
  }
  return out;
}

/** RR…GG…BB… → RGBRGB… */
function interleavePlanes(raw: Samples, n: number): Samples {
  const out = new Int32Array(raw.length);
  for (let i = 0; i < n; i++) {
    out[3 * i] = raw[i];
    out[3 * i + 1] = raw[n + i];
    out[3 * i + 2] = raw[2 * n + i];
  }
  return out;
}
