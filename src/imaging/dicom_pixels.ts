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
export type Photometric = "MONOCHROME1" | "MONOCHROME2" | "RGB";

/** The pixel module, validated. */
export interface PixelModule {
  rows: number;
  columns: number;
  samplesPerPixel: 1 | 3;
  photometric: Photometric;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  /** 0: RGBRGB…, 1: RR…GG…BB… */
  planar: 0 | 1;
  frames: number;
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
  const photometric = (ds.string("x00280004") ?? "").trim().toUpperCase();
  if (photometric !== "MONOCHROME1" && photometric !== "MONOCHROME2" && photometric !== "RGB") {
    throw new ApiError(
      "unsupported_image",
      `photometric interpretation "${
        photometric.slice(0, 20) || "(missing)"
      }" is not supported; send MONOCHROME1, MONOCHROME2 or RGB`,
    );
  }
  const samplesPerPixel = ds.uint16("x00280002") ?? (photometric === "RGB" ? 3 : 1);
  if (samplesPerPixel !== (photometric === "RGB" ? 3 : 1)) {
    throw new ApiError(
      "bad_dicom",
      `Samples per Pixel ${samplesPerPixel} does not fit ${photometric}`,
    );
  }
  const bitsAllocated = ds.uint16("x00280100") ?? 0;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new ApiError(
      "unsupported_image",
      `Bits Allocated ${bitsAllocated} is not supported; 8 and 16 are`,
    );
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
  };
}

/**
 * The stored values of one frame, interleaved, masked to Bits Stored and sign-extended.
 * @param frameIndex 0-based
 * @param bigEndian whether 16-bit samples are stored most significant byte first
 * @throws {ApiError} `bad_dicom` (400) when the pixel data is encapsulated or too short
 */
export function frameSamples(
  ds: DicomDataSet,
  pm: PixelModule,
  frameIndex: number,
  bigEndian: boolean,
): Int32Array {
  const el = ds.elements[PIXEL_DATA];
  if (el.encapsulatedPixelData) {
    throw new ApiError(
      "bad_dicom",
      "Pixel Data is encapsulated (compressed) but the transfer syntax says uncompressed",
    );
  }
  const bytesPer = pm.bitsAllocated / 8;
  const count = pm.rows * pm.columns * pm.samplesPerPixel;
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
  const shift = pm.highBit + 1 - pm.bitsStored;
  const mask = (1 << pm.bitsStored) - 1;
  const signBit = 1 << (pm.bitsStored - 1);
  const raw = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let v = bytesPer === 1
      ? bytes[start + (swapBytes ? i ^ 1 : i)]
      : view.getUint16(start + 2 * i, !bigEndian);
    v = (v >> shift) & mask;
    if (pm.signed && (v & signBit)) v -= mask + 1;
    raw[i] = v;
  }
  if (pm.planar === 0 || pm.samplesPerPixel === 1) return raw;
  const n = pm.rows * pm.columns;
  const interleaved = new Int32Array(count);
  for (let i = 0; i < n; i++) {
    interleaved[3 * i] = raw[i];
    interleaved[3 * i + 1] = raw[n + i];
    interleaved[3 * i + 2] = raw[2 * n + i];
  }
  return interleaved;
}
