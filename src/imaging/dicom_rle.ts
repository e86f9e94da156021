/**
 * RLE Lossless (1.2.840.10008.1.2.5), PS3.5 Annex G: a 64-byte header with up to 15
 * segment offsets, one PackBits-coded segment per byte plane (most significant byte of
 * each sample first, one sample after another).
 *
 * Written here rather than taken from a library: the scheme is 40 lines; the RLE decoder
 * of dcmjs (already a dependency) takes one byte segment only (8-bit single-sample SEG
 * frames) and logs rather than throws on others; cornerstone's loader pulls in a whole
 * viewer stack; and a hand-written loop lets every count be checked against the expected
 * frame size so that a corrupt segment can never write past its plane.
 *
 * @module
 */
import { ApiError } from "../errors.ts";

/**
 * Decodes one RLE frame into interleaved little-endian samples.
 * @param bytesPerSample Bits Allocated / 8 (1, 2 or 4)
 * @throws {ApiError} `bad_dicom` (400) when the header or a segment is inconsistent
 */
export function decodeRle(
  frame: Uint8Array,
  pixels: number,
  samplesPerPixel: number,
  bytesPerSample: number,
): Uint8Array {
  if (frame.length < 64) throw new ApiError("bad_dicom", "RLE frame is shorter than its header");
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  const expected = samplesPerPixel * bytesPerSample;
  if (segments !== expected) {
    throw new ApiError(
      "bad_dicom",
      `RLE header has ${segments} segments; ${samplesPerPixel} samples × ${bytesPerSample} bytes need ${expected}`,
    );
  }
  const offsets: number[] = [];
  for (let i = 0; i < segments; i++) offsets.push(view.getUint32(4 + 4 * i, true));
  const stride = expected;
  const out = new Uint8Array(pixels * stride);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s];
    const end = s + 1 < segments ? offsets[s + 1] : frame.length;
    if (start < 64 || end > frame.length || end < start) {
      throw new ApiError("bad_dicom", `RLE segment ${s + 1} offsets ${start}..${end} are invalid`);
    }
    const sample = Math.floor(s / bytesPerSample);
    // segments run most significant byte first; little-endian output puts it last
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample);
    let at = sample * bytesPerSample + byteInSample;
    let written = 0;
    let i = start;
    while (i < end && written < pixels) {
      const n = frame[i++];
      if (n < 128) {
        const count = Math.min(n + 1, end - i, pixels - written);
        for (let k = 0; k < count; k++, at += stride) out[at] = frame[i + k];
        i += n + 1;
        written += count;
      } else if (n > 128) {
        if (i >= end) break;
        const value = frame[i++];
        const count = Math.min(257 - n, pixels - written);
        for (let k = 0; k < count; k++, at += stride) out[at] = value;
        written += count;
      }
    }
    if (written < pixels) {
      throw new ApiError(
        "bad_dicom",
        `RLE segment ${s + 1} decodes to ${written} bytes; the frame needs ${pixels}`,
      );
    }
  }
  return out;
}
