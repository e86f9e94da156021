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

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The compressed bytes of one frame.
 * @param frameIndex 0-based
 * @param frames Number of Frames
 * @param maxBytes the most one compressed frame may take
 * @throws {ApiError} `bad_dicom` (400) for missing fragments or inconsistent offsets
 */
export function encapsulatedFrame(
  ds: DicomDataSet,
  pixelTag: string,
  frameIndex: number,
  frames: number,
  codec: FrameCodec,
  maxBytes: number,
): Uint8Array {
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
  const pick = (from: number, to: number): Uint8Array => {
    const parts = fragments.slice(from, to).map(view);
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (size === 0) throw new ApiError("bad_dicom", `frame ${frameIndex + 1} has no data`);
    if (size > maxBytes) {
      throw new ApiError(
        "too_many_pixels",
        `compressed frame ${
          frameIndex + 1
        } is ${size} bytes; more than its decoded size allows (${maxBytes})`,
      );
    }
    return concat(parts);
  };
  // the Basic Offset Table, when it is usable; real files have tables with one entry too
  // many or offsets that match no fragment, and then the fragments themselves decide
  const table = el.basicOffsetTable ?? [];
  if (table.length === frames) {
    const start = fragments.findIndex((f) => f.offset === table[frameIndex]);
    const next = frameIndex + 1 < frames
      ? fragments.findIndex((f) => f.offset === table[frameIndex + 1])
      : fragments.length;
    if (start >= 0 && next > start) return pick(start, next);
  }
  if (frames === 1) return pick(0, fragments.length);
  if (fragments.length === frames) return pick(frameIndex, frameIndex + 1);
  const starts = fragments.flatMap((f, i) => startsCodestream(view(f), codec) ? [i] : []);
  if (starts.length !== frames || starts[0] !== 0) {
    throw new ApiError(
      "bad_dicom",
      `cannot tell the ${frames} frames apart: ${fragments.length} fragments, no Basic Offset Table, ${starts.length} codestream starts`,
    );
  }
  return pick(starts[frameIndex], starts[frameIndex + 1] ?? fragments.length);
}
