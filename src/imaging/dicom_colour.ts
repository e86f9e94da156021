/**
 * DICOM colour to RGB: YBR_FULL and YBR_FULL_422 (full-range YCbCr, PS3.3 C.7.6.3.1.2)
 * converted with the ITU-R BT.601 matrix; YBR_RCT/YBR_ICT come out of the JPEG 2000 codec
 * as RGB already, and so does 3-component JPEG from libjpeg-turbo; PALETTE COLOR looked up
 * in the Red/Green/Blue Palette Color Lookup Tables (0028,1101-1103 / 1201-1203).
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import type { DicomDataSet } from "./dicom_parse.ts";
import type { PixelModule, Samples } from "./dicom_pixels.ts";

/** RGB samples ready for a `DecodedImage`. */
export interface RgbPixels {
  data: Uint8Array | Uint16Array;
  maxValue: number;
}

/**
 * Interleaved colour samples as RGB.
 * @param codecRgb the codec already converted YCbCr to RGB
 */
export function colourToRgb(samples: Samples, pm: PixelModule, codecRgb: boolean): RgbPixels {
  const maxValue = 2 ** pm.bitsStored - 1;
  const data = pm.bitsAllocated === 8
    ? new Uint8Array(samples.length)
    : new Uint16Array(samples.length);
  const ycbcr = !codecRgb && (pm.photometric === "YBR_FULL" || pm.photometric === "YBR_FULL_422");
  if (!ycbcr) {
    for (let i = 0; i < samples.length; i++) data[i] = Math.min(Math.max(samples[i], 0), maxValue);
    return { data, maxValue };
  }
  const half = 2 ** (pm.bitsStored - 1);
  const clamp = (v: number) => Math.min(Math.max(Math.round(v), 0), maxValue);
  for (let i = 0; i < samples.length; i += 3) {
    const y = samples[i], cb = samples[i + 1] - half, cr = samples[i + 2] - half;
    data[i] = clamp(y + 1.402 * cr);
    data[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    data[i + 2] = clamp(y + 1.772 * cb);
  }
  return { data, maxValue };
}

function lut(ds: DicomDataSet, channel: number, bigEndian: boolean) {
  const name = ["Red", "Green", "Blue"][channel];
  const descTag = `x0028110${channel + 1}`, dataTag = `x0028120${channel + 1}`;
  if (ds.elements[`x0028122${channel + 1}`]) {
    throw new ApiError(
      "unsupported_image",
      "segmented palette colour lookup tables are not supported",
    );
  }
  const entries = ds.uint16(descTag, 0) || 65536;
  const first = ds.uint16(descTag, 1) ?? 0;
  const bits = ds.uint16(descTag, 2);
  const el = ds.elements[dataTag];
  if (!el || (bits !== 8 && bits !== 16)) {
    throw new ApiError(
      "bad_dicom",
      `PALETTE COLOR needs the ${name} Palette Color Lookup Table Descriptor and Data (8 or 16 bits)`,
    );
  }
  const bytes = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  const values = new Uint16Array(entries);
  if (bits === 8 && bytes.length >= entries && bytes.length < 2 * entries) {
    for (let i = 0; i < entries; i++) values[i] = bytes[i];
  } else {
    if (bytes.length < 2 * entries) {
      throw new ApiError(
        "bad_dicom",
        `the ${name} palette has ${bytes.length} bytes; ${entries} entries need ${2 * entries}`,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < entries; i++) values[i] = view.getUint16(2 * i, !bigEndian);
    // 8-bit entries in 16-bit words: some writers use the high byte
    if (bits === 8 && values.some((v) => v > 255)) {
      for (let i = 0; i < entries; i++) values[i] >>= 8;
    }
  }
  return { values, first, bits };
}

/** PALETTE COLOR indices → RGB through the file's lookup tables. */
export function paletteToRgb(ds: DicomDataSet, samples: Samples, bigEndian: boolean): RgbPixels {
  const luts = [0, 1, 2].map((c) => lut(ds, c, bigEndian));
  const wide = luts.some((l) => l.bits === 16);
  const n = samples.length;
  const data = wide ? new Uint16Array(n * 3) : new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) {
    const { values, first } = luts[c];
    const last = values.length - 1;
    for (let i = 0; i < n; i++) {
      const k = samples[i] - first;
      data[3 * i + c] = values[k < 0 ? 0 : k > last ? last : k];
    }
  }
  return { data, maxValue: wide ? 65535 : 255 };
}
