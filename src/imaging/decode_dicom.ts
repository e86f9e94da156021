/**
 * DICOM Part 10 decoding: uncompressed MONOCHROME1/MONOCHROME2/RGB, 8 or 16 bits,
 * signed or unsigned, any Bits Stored/High Bit, planar or interleaved colour, implicit,
 * explicit (little or big endian) or deflated.
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
import type { DecodeOptions } from "./image.ts";
import { type DicomDataSet, parseDicomFile } from "./dicom_parse.ts";
import { frameSamples, type PixelModule, readPixelModule } from "./dicom_pixels.ts";
import { BIG_ENDIAN_SYNTAX } from "./dicom_transfer_syntax.ts";
import {
  applyWindow,
  invertInPlace,
  parseVoiFunction,
  stretchMinMax,
  type Window,
  windowProblem,
} from "./dicom_window.ts";
import type { DecodedImage } from "./image.ts";

export { isDicom } from "./dicom_parse.ts";

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

function rescale(ds: DicomDataSet, samples: Int32Array): Float32Array {
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

/**
 * Decodes a DICOM Part 10 file (one frame).
 * @throws {ApiError} `bad_dicom` (400) corrupt/truncated, `unsupported_transfer_syntax`
 *   (415) compressed, `unsupported_image` (422) no pixels, unsupported encoding or a
 *   multi-frame object without `frame`, `bad_request` (400) bad window/frame, 413 too big
 */
export function decodeDicom(bytes: Uint8Array, options: DecodeOptions): DecodedImage {
  const maxInflated = options.maxPixels * 6 + 16 * 1024 * 1024;
  const { dataSet: ds, transferSyntax } = parseDicomFile(bytes, maxInflated);
  const pm = readPixelModule(ds, options.maxPixels);
  const index = frameIndex(pm, options.frame);
  const samples = frameSamples(ds, pm, index, transferSyntax === BIG_ENDIAN_SYNTAX);
  const base = {
    width: pm.columns,
    height: pm.rows,
    source: "dicom",
    pixelSpacingMm: pixelSpacing(ds),
  };
  if (pm.photometric === "RGB") {
    if (pm.signed) {
      throw new ApiError("unsupported_image", "signed RGB pixel data is not supported");
    }
    if (options.window) {
      throw new ApiError(
        "bad_request",
        "window applies to greyscale (MONOCHROME1/2) DICOM only; this one is RGB",
      );
    }
    const data = pm.bitsAllocated === 8 ? Uint8Array.from(samples) : Uint16Array.from(samples);
    return { ...base, channels: 3, data, maxValue: 2 ** pm.bitsStored - 1 };
  }
  const modality = rescale(ds, samples);
  const window = chooseWindow(ds, options.window);
  const display = window ? applyWindow(modality, window) : stretchMinMax(modality);
  if (pm.photometric === "MONOCHROME1") invertInPlace(display);
  return { ...base, channels: 1, data: display, maxValue: 1 };
}
