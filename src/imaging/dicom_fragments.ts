/**
 * Encapsulated Pixel Data (PS3.5 A.4): the bytes of one compressed frame, found from the
 * Basic Offset Table when there is a usable one, else from the fragments themselves (one
 * fragment per frame, or all fragments for a single frame, or a split at each fragment
 * that starts a new codestream). Every offset and length is checked against the file, so a corrupt
 * table is a 400 `bad_dicom`, never a read past the end.
 *
 * dicom-parser finds the fragments; its `readEncapsulatedImageFrame` is not used because
 * it trusts the offsets it is given and throws strings on files without a table.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
import { ApiError } from "../errors.ts";
import type { DicomDataSet } from "./dicom_parse.ts";
import type { FrameCodec } from "./dicom_transfer_syntax.ts";

/** One fragment as dicom-parser describes it. */
export interface Fragment {
  /** offset from the first fragment's item tag (what the Basic Offset Table counts) */
  offset: number;
  /** absolute position of the fragment's first byte */
  position: number;
  length: number;
}

/** Whether a fragment begins a codestream of the codec (so a frame starts there). */
function startsCodestream(bytes: Uint8Array, codec: FrameCodec): boolean {
  if (bytes.length < 2) return false;
  if (codec === "jpeg2000" || codec === "htj2k") {
    // J2K codestream: SOC (FF4F) then SIZ (FF51); or a JP2 box header
    return (bytes[0] === 0xff && bytes[1] === 0x4f) ||
      (bytes.length >= 8 && bytes[4] === 0x6a && bytes[5] === 0x50);
  }
  if (codec === "rle") return false;
  return bytes[0] === 0xff && bytes[1] === 0xd8; // SOI
}

/**
 * The compressed bytes of each frame: the fragments are checked and indexed once, so
 * reading every frame of a file costs time in proportion to its size.
 * @param frames Number of Frames
 * @returns `frame(frameIndex, maxBytes)`: the bytes of a 0-based frame, at most `maxBytes`
 * @throws {ApiError} `bad_dicom` (400) for missing fragments or inconsistent offsets (from
 *   the call for a frame that cannot be found) and for a frame over `maxBytes`
 */
export function encapsulatedFrames(
  ds: DicomDataSet,
  pixelTag: string,
  frames: number,
  codec: FrameCodec,
): (frameIndex: number, maxBytes: number) => Uint8Array {
  const el = ds.elements[pixelTag] as {
    fragments?: Fragment[];
    basicOffsetTable?: number[];
    encapsulatedPixelData?: boolean;
  };
  if (!el.encapsulatedPixelData) {
    throw new ApiError(
      "bad_dicom",
      "the transfer syntax is compressed but Pixel Data is not encapsulated (it has a defined length)",
    );
  }
  const fragments = el.fragments ?? [];
  const total = ds.byteArray.length;
  for (const f of fragments) {
    if (f.length < 0 || f.position + f.length > total) {
      throw new ApiError(
        "bad_dicom",
        `a Pixel Data fragment at byte ${f.position} claims ${f.length} bytes; the file ends at ${total}`,
      );
    }
  }
  if (fragments.length === 0) {
    throw new ApiError("bad_dicom", "encapsulated Pixel Data has no fragments");
  }
  const view = (f: Fragment) => ds.byteArray.subarray(f.position, f.position + f.length);
  // the Basic Offset Table, when it is usable; real files have tables with one entry too
  // many or offsets that match no fragment, and then the fragments themselves decide
  const table = el.basicOffsetTable ?? [];
  const byOffset = new Map<number, number>();
  if (table.length === frames) fragments.forEach((f, i) => byOffset.set(f.offset, i));
  let starts: number[] | undefined;
  const range = (frameIndex: number): [number, number] => {
    if (table.length === frames) {
      const start = byOffset.get(table[frameIndex]) ?? -1;
      const next = frameIndex + 1 < frames
        ? byOffset.get(table[frameIndex + 1]) ?? -1
        : fragments.length;
      if (start >= 0 && next > start) return [start, next];
    }
    if (frames === 1) return [0, fragments.length];
    if (fragments.length === frames) return [frameIndex, frameIndex + 1];
    starts ??= fragments.flatMap((f, i) => startsCodestream(view(f), codec) ? [i] : []);
    if (starts.length !== frames || starts[0] !== 0) {
      throw new ApiError(
        "bad_dicom",
        `cannot tell the ${frames} frames apart: ${fragments.length} fragments, no Basic Offset Table, ${starts.length} codestream starts`,
      );
    }
    return [starts[frameIndex], starts[frameIndex + 1] ?? fragments.length];
  };
  return (frameIndex, maxBytes) => {
    const [from, to] = range(frameIndex);
    const parts = fragments.slice(from, to).map(view);
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (size === 0) throw new ApiError("bad_dicom", `frame ${frameIndex + 1} has no data`);
    if (size > maxBytes) {
      // the file disagrees with itself (no pixel limit is passed): a 400, not a 413
      throw new ApiError(
        "bad_dicom",
        `compressed frame ${
          frameIndex + 1
        } is ${size} bytes; more than its decoded size allows (${maxBytes}): refused as corrupt`,
      );
    }
    return concatBytes(parts);
  };
}
