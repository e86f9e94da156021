/**
 * DICOM Part 10 decoding — the entry point other modules (the HTTP routes, the DIMSE and
 * DICOMweb node) call: {@link decodeDicom}`(bytes, {maxPixels, frame, window})` returns one
 * frame as a `DecodedImage` with `dicom` metadata (Modality, transfer syntax, frame count,
 * UIDs); {@link readDicomInfo} gives the metadata without decoding pixels.
 *
 * Pixel data: uncompressed (implicit/explicit VR little endian, explicit big endian,
 * deflated) or compressed (JPEG baseline/extended 8-bit, JPEG lossless, JPEG-LS, JPEG 2000,
 * HTJ2K, RLE — see `dicom_codecs.ts`), single- or multi-frame (encapsulated frames found
 * through the Basic Offset Table or the fragments). MONOCHROME1/2 and PALETTE COLOR,
 * RGB, YBR_FULL, YBR_FULL_422, YBR_RCT, YBR_ICT; 8, 16 or 32 bits allocated, signed or
 * unsigned, any Bits Stored/High Bit. The pixel limit is checked on Rows × Columns before
 * any codec runs, a compressed frame may be at most twice its decoded size (Rows × Columns
 * × Samples per Pixel × Bits Allocated / 8) and the codestream's own header must agree
 * with the DICOM one; only the chosen frame is decoded.
 *
 * Greyscale goes through the DICOM display pipeline: stored value → Rescale Slope and
 * Intercept → window (`?window=center,width`, else the file's first Window Center/Width
 * with its VOI LUT Function, else the min/max of the rescaled pixels) → MONOCHROME1
 * inverted; the result is float in [0, 1]. RGB keeps its samples. Pixel Spacing (or
 * Imager Pixel Spacing) becomes `pixelSpacingMm`.
 *
 * Multi-frame objects need `?frame=N` (1-based) to pick the frame to segment; without it
 * they are refused with 422 naming the frame count.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import type { DecodeOptions, DicomImageInfo } from "./image.ts";
import { decodeFrame } from "./dicom_codecs.ts";
import { colourToRgb, paletteToRgb } from "./dicom_colour.ts";
import { encapsulatedFrames } from "./dicom_fragments.ts";
import { type DicomDataSet, parseDicomFile } from "./dicom_parse.ts";
import {
  nativeFrame,
  type PixelModule,
  readPixelModule,
  type Samples,
  storedValues,
} from "./dicom_pixels.ts";
import {
  BIG_ENDIAN_SYNTAX,
  ENCAPSULATED_CODECS,
  transferSyntaxName,
} from "./dicom_transfer_syntax.ts";
import {
  applyWindow,
  invertInPlace,
  parseVoiFunction,
  stretchMinMax,
  type Window,
  windowProblem,
} from "./dicom_window.ts";
import type { DecodedImage } from "./image.ts";

/** Pixel Spacing (0028,0030), else Imager Pixel Spacing (0018,1164), as [row, column] mm. */
export function pixelSpacing(ds: DicomDataSet): [number, number] | undefined {
  for (const tag of ["x00280030", "x00181164"]) {
    const row = ds.floatString(tag, 0), col = ds.floatString(tag, 1);
    if (
      row !== undefined && col !== undefined && row > 0 && col > 0 && Number.isFinite(row) &&
      Number.isFinite(col)
    ) return [row, col];
  }
  return undefined;
}

/** The 0-based frame to decode. */
function frameIndex(pm: PixelModule, frame: number | undefined): number {
  if (frame === undefined) {
    if (pm.frames === 1) return 0;
    throw new ApiError(
      "unsupported_image",
      `the DICOM object has ${pm.frames} frames; choose the one to segment with ?frame=1..${pm.frames}`,
    );
  }
  if (!Number.isSafeInteger(frame) || frame < 1 || frame > pm.frames) {
    throw new ApiError(
      "bad_request",
      `frame ${frame} is out of range: the DICOM object has ${pm.frames} frame${
        pm.frames === 1 ? "" : "s"
      } (1..${pm.frames})`,
    );
  }
  return frame - 1;
}

/** The window to apply: the override, else the file's first one, else none (min/max). */
function chooseWindow(ds: DicomDataSet, override: [number, number] | undefined): Window | null {
  const fn = parseVoiFunction(ds.string("x00281056"));
  if (override) {
    const w = { center: override[0], width: override[1], fn };
    const problem = windowProblem(w);
    if (problem) throw new ApiError("bad_request", `window ${override.join(",")}: ${problem}`);
    return w;
  }
  const center = ds.floatString("x00281050", 0), width = ds.floatString("x00281051", 0);
  if (center === undefined || width === undefined) return null;
  const w = { center, width, fn };
  const problem = windowProblem(w);
  if (problem) {
    throw new ApiError(
      "bad_dicom",
      `the file's Window Center/Width is unusable (${problem}); pass ?window=center,width`,
    );
  }
  return w;
}

function rescale(ds: DicomDataSet, samples: Samples): Float32Array {
  const slope = ds.floatString("x00281053", 0) ?? 1;
  const intercept = ds.floatString("x00281052", 0) ?? 0;
  if (!Number.isFinite(slope) || !Number.isFinite(intercept) || slope === 0) {
    throw new ApiError(
      "bad_dicom",
      `Rescale Slope/Intercept must be finite numbers with a non-zero slope; got ${slope}/${intercept}`,
    );
  }
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] * slope + intercept;
  return out;
}

/** The most a deflated dataset may inflate to, for a pixel limit. */
export function maxInflatedBytes(maxPixels: number): number {
  return maxPixels * 6 + 16 * 1024 * 1024;
}

function uidOf(ds: DicomDataSet, tag: string): string | undefined {
  return ds.string(tag)?.replace(/\0/g, "").trim() || undefined;
}

function info(ds: DicomDataSet, transferSyntax: string, pm?: PixelModule): DicomImageInfo {
  return {
    modality: (ds.string("x00080060") ?? "").trim().toUpperCase(),
    transferSyntax,
    transferSyntaxName: transferSyntaxName(transferSyntax),
    frames: pm?.frames ?? ds.intString("x00280008") ?? 1,
    rows: pm?.rows ?? ds.uint16("x00280010") ?? 0,
    columns: pm?.columns ?? ds.uint16("x00280011") ?? 0,
    photometric: pm?.photometric ?? (ds.string("x00280004") ?? "").trim(),
    sopClassUid: uidOf(ds, "x00080016"),
    sopInstanceUid: uidOf(ds, "x00080018"),
    studyInstanceUid: uidOf(ds, "x0020000d"),
    seriesInstanceUid: uidOf(ds, "x0020000e"),
  };
}

/**
 * Reads a DICOM file's metadata (Modality, transfer syntax, frames, UIDs) without
 * decoding pixels.
 * @throws {ApiError} `bad_dicom` (400), `unsupported_transfer_syntax` (415)
 */
export function readDicomInfo(bytes: Uint8Array, options: { maxPixels: number }): DicomImageInfo {
  const { dataSet, transferSyntax } = parseDicomFile(bytes, maxInflatedBytes(options.maxPixels));
  return info(dataSet, transferSyntax);
}

/** The stored values of one frame, and whether the codec already made it RGB. */
type FrameValues = { samples: Samples; codecRgb: boolean };

/** Reads any frame of a parsed file (the fragments of encapsulated data indexed once). */
function frameReader(
  ds: DicomDataSet,
  pm: PixelModule,
  transferSyntax: string,
): (index: number) => Promise<FrameValues> {
  const codec = ENCAPSULATED_CODECS[transferSyntax];
  if (!codec) {
    const bigEndian = transferSyntax === BIG_ENDIAN_SYNTAX;
    return (index) =>
      Promise.resolve({ samples: nativeFrame(ds, pm, index, bigEndian), codecRgb: false });
  }
  const frame = encapsulatedFrames(ds, "x7fe00010", pm.frames, codec);
  const geometry = {
    rows: pm.rows,
    columns: pm.columns,
    samplesPerPixel: pm.samplesPerPixel,
    bitsAllocated: pm.bitsAllocated,
    bitsStored: pm.bitsStored,
    signed: pm.signed,
  };
  // RLE codes the pixel cells byte by byte, so High Bit is where the file says; the other
  // codecs return samples right-aligned (PS3.5 8.2: High Bit = Bits Stored - 1)
  const layout = { ...pm, highBit: codec === "rle" ? pm.highBit : pm.bitsStored - 1 };
  return async (index) => {
    // a compressed frame larger than its decoded size (plus headers) is not one
    const compressed = frame(index, pm.frameBytes * 2 + 65536);
    const decoded = await decodeFrame(codec, compressed, geometry);
    return { samples: storedValues(decoded.samples, layout), codecRgb: decoded.rgb };
  };
}

/**
 * Decodes one frame of a DICOM Part 10 file.
 * @param options `maxPixels` (Rows × Columns limit), `frame` (1-based; needed for
 *   multi-frame objects), `window` (`[center, width]` for greyscale), `checkDicom`
 *   (called with the metadata before any pixel is decoded)
 * @returns the frame as a `DecodedImage` whose `dicom` field holds the metadata
 * @throws {ApiError} `bad_dicom` (400) corrupt/truncated, `unsupported_transfer_syntax`
 *   (415) a syntax no codec here decodes, `unsupported_image` (422) no pixels, unsupported
 *   encoding or a multi-frame object without `frame`, `bad_request` (400) bad
 *   window/frame, `too_many_pixels` (413)
 */
export async function decodeDicom(
  bytes: Uint8Array,
  options: DecodeOptions,
): Promise<DecodedImage> {
  const { dataSet: ds, transferSyntax } = parseDicomFile(
    bytes,
    maxInflatedBytes(options.maxPixels),
  );
  options.checkDicom?.(info(ds, transferSyntax));
  const pm = readPixelModule(ds, options.maxPixels);
  const index = frameIndex(pm, options.frame);
  const values = await frameReader(ds, pm, transferSyntax)(index);
  return toImage(ds, transferSyntax, pm, index, values, options);
}

/** One frame's stored values through the colour or greyscale display pipeline. */
function toImage(
  ds: DicomDataSet,
  transferSyntax: string,
  pm: PixelModule,
  index: number,
  { samples, codecRgb }: FrameValues,
  options: Omit<DecodeOptions, "frame">,
): DecodedImage {
  const base = {
    width: pm.columns,
    height: pm.rows,
    source: "dicom",
    pixelSpacingMm: pixelSpacing(ds),
    dicom: { ...info(ds, transferSyntax, pm), frame: index + 1 },
  };
  if (pm.samplesPerPixel === 3 || pm.photometric === "PALETTE COLOR") {
    if (pm.signed && pm.photometric !== "PALETTE COLOR") {
      throw new ApiError("unsupported_image", "signed colour pixel data is not supported");
    }
    if (options.window) {
      throw new ApiError(
        "bad_request",
        `window applies to greyscale (MONOCHROME1/2) DICOM only; this one is ${pm.photometric}`,
      );
    }
    const rgb = pm.photometric === "PALETTE COLOR"
      ? paletteToRgb(ds, samples, transferSyntax === BIG_ENDIAN_SYNTAX)
      : colourToRgb(samples, pm, codecRgb);
    return { ...base, channels: 3, ...rgb };
  }
  const modality = rescale(ds, samples);
  const window = chooseWindow(ds, options.window);
  const display = window ? applyWindow(modality, window) : stretchMinMax(modality);
  if (pm.photometric === "MONOCHROME1") invertInPlace(display);
  return { ...base, channels: 1, data: display, maxValue: 1 };
}
