/**
 * The decoded image every decoder produces and every later stage reads.
 *
 * @module
 */

/** What a decoded DICOM image carries besides its pixels. */
export interface DicomImageInfo {
  /** Modality (0008,0060), upper case, "" when absent */
  modality: string;
  transferSyntax: string;
  transferSyntaxName: string;
  /** Number of Frames (1 for single-frame objects) */
  frames: number;
  /** the 1-based frame decoded (undefined from `readDicomInfo`, decode_dicom.ts) */
  frame?: number;
  rows: number;
  columns: number;
  photometric: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
}

/** A decoded image: grey or RGB samples, value/`maxValue` in [0, 1]. Alpha is dropped. */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** interleaved samples, row-major */
  data: Uint8Array | Uint16Array | Float32Array;
  /** the sample value that means full intensity (255, 65535, or 1 for float data) */
  maxValue: number;
  /** where it came from: "png", "jpeg", "dicom", "tensor" */
  source: string;
  /** physical pixel size (row, column spacing in mm) when the format carries it */
  pixelSpacingMm?: [number, number];
  /** DICOM inputs: Modality, transfer syntax, frames, UIDs */
  dicom?: DicomImageInfo;
}

/** Limits applied while decoding (checked against headers before pixels are inflated). */
export interface DecodeLimits {
  /** maximum width × height */
  maxPixels: number;
}

/** Per-request decode options beyond the limits (e.g. a DICOM window). */
export interface DecodeOptions extends DecodeLimits {
  /** DICOM: `[center, width]` overriding the file's first window */
  window?: [number, number];
  /** DICOM: 1-based frame of a multi-frame object */
  frame?: number;
  /**
   * DICOM: called with the metadata once the file is parsed, before any pixel is decoded
   * (the modality guard throws here, so a refused image costs no codec run)
   */
  checkDicom?: (info: DicomImageInfo) => void;
}

/** Default limits: a little over a 4K UHD frame (3840×2160 = 8.3 MP) allowed. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxPixels: 16_777_216 };

/** An 8-bit RGB copy of the image (for overlays). */
export function toRgb8(image: DecodedImage): Uint8Array {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  const scale = 255 / image.maxValue;
  const d = image.data;
  if (image.channels === 3) {
    for (let i = 0; i < n * 3; i++) out[i] = Math.round(Math.min(Math.max(d[i] * scale, 0), 255));
  } else {
    for (let i = 0; i < n; i++) {
      const v = Math.round(Math.min(Math.max(d[i] * scale, 0), 255));
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = v;
    }
  }
  return out;
}
