/**
 * Decoders for compressed DICOM frames, from the imaging community's own codecs:
 * libjpeg-turbo (JPEG baseline/extended 8-bit), `jpeg-lossless-decoder-js` (JPEG lossless,
 * processes 14 and 14 SV1), CharLS (JPEG-LS), OpenJPEG (JPEG 2000) and OpenJPH (HTJ2K) —
 * the WebAssembly builds Cornerstone publishes — plus RLE ({@link decodeRle}).
 *
 * The codecs run in a worker (`dicom_codec_pool.ts`) under a time limit, started on the
 * first compressed frame and each codec imported the first time a frame needs it, so
 * start-up time and memory of a server that never sees a compressed file are unchanged.
 * Before any decoding, the codestream's own header (JPEG SOF, J2K SIZ) must agree with
 * the DICOM Rows, Columns and Samples per Pixel that the pixel limit was checked against,
 * so a codestream cannot make a codec allocate more than the limit allows; JPEG-LS and
 * lossless JPEG must end with their EOI marker (their decoders loop on truncated data).
 * A codec failure is a 400 `bad_dicom`.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { CODEC_LABELS, type FrameGeometry } from "./dicom_codec_impl.ts";
import { decodeInWorker } from "./dicom_codec_pool.ts";
import { decodeRle } from "./dicom_rle.ts";
import type { FrameCodec } from "./dicom_transfer_syntax.ts";

export type { FrameGeometry } from "./dicom_codec_impl.ts";

/** A decoded frame: interleaved sample values. */
export interface CodecFrame {
  samples: Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;
  /** the codec has already turned YCbCr into RGB (libjpeg-turbo does for 3-component JPEG) */
  rgb: boolean;
}

const CODEC_NAMES = CODEC_LABELS;

/** A frame header read from a codestream. */
interface StreamHeader {
  width: number;
  height: number;
  components: number;
  precision: number;
}

/**
 * Reads the SOF header of a JPEG-family stream (JPEG SOF0–SOF15, JPEG-LS SOF55).
 * @returns undefined when there is no SOF before the first scan
 */
export function jpegFrameHeader(b: Uint8Array): StreamHeader | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    const length = (b[i + 2] << 8) | b[i + 3];
    const isSof = (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
      marker !== 0xcc) || marker === 0xf7;
    if (isSof) {
      if (i + 10 > b.length) return undefined;
      return {
        precision: b[i + 4],
        height: (b[i + 5] << 8) | b[i + 6],
        width: (b[i + 7] << 8) | b[i + 8],
        components: b[i + 9],
      };
    }
    i += 2 + length;
  }
  return undefined;
}

/** Reads the SIZ header of a J2K codestream (after SOC). */
export function j2kHeader(b: Uint8Array): StreamHeader | undefined {
  // raw codestream only (DICOM forbids the JP2 file format)
  if (b.length < 42 || b[0] !== 0xff || b[1] !== 0x4f || b[2] !== 0xff || b[3] !== 0x51) {
    return undefined;
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const xsiz = v.getUint32(8), ysiz = v.getUint32(12), x0 = v.getUint32(16), y0 = v.getUint32(20);
  const components = v.getUint16(40);
  if (b.length < 42 + 3 * components || components === 0) return undefined;
  return {
    width: xsiz - x0,
    height: ysiz - y0,
    components,
    precision: (b[42] & 0x7f) + 1,
  };
}

function checkHeader(codec: FrameCodec, h: StreamHeader | undefined, g: FrameGeometry): void {
  const name = CODEC_NAMES[codec];
  if (!h) {
    throw new ApiError("bad_dicom", `the ${name} frame has no readable frame header`);
  }
  if (h.width !== g.columns || h.height !== g.rows || h.components !== g.samplesPerPixel) {
    throw new ApiError(
      "bad_dicom",
      `the ${name} codestream is ${h.width}×${h.height}×${h.components}; the DICOM header says ${g.columns}×${g.rows}×${g.samplesPerPixel}`,
    );
  }
  if (h.precision > g.bitsAllocated || h.precision < 1) {
    throw new ApiError(
      "bad_dicom",
      `the ${name} codestream has ${h.precision}-bit samples; Bits Allocated is ${g.bitsAllocated}`,
    );
  }
  if (codec === "jpeg-baseline" && h.precision !== 8) {
    throw new ApiError(
      "unsupported_transfer_syntax",
      `${h.precision}-bit JPEG Extended (process 4) is not supported; 8-bit JPEG baseline/extended is`,
    );
  }
}

/** Whether a JPEG-family stream ends with EOI (FFD9), allowing DICOM's padding byte. */
function endsWithEoi(b: Uint8Array): boolean {
  const n = b.length;
  return (n >= 2 && b[n - 2] === 0xff && b[n - 1] === 0xd9) ||
    (n >= 3 && b[n - 3] === 0xff && b[n - 2] === 0xd9 && b[n - 1] === 0);
}

/** Samples over the little-endian bytes `decodeRle` returns (a fresh, aligned array). */
function littleEndian(bytes: Uint8Array, bytesPer: number, signed: boolean): CodecFrame["samples"] {
  if (bytesPer === 1) return bytes;
  const { buffer, byteOffset } = bytes, n = bytes.byteLength / bytesPer;
  if (bytesPer === 2) {
    return signed ? new Int16Array(buffer, byteOffset, n) : new Uint16Array(buffer, byteOffset, n);
  }
  return signed ? new Int32Array(buffer, byteOffset, n) : new Uint32Array(buffer, byteOffset, n);
}

/**
 * Decodes one compressed frame.
 * @throws {ApiError} `bad_dicom` (400) when the frame is corrupt or disagrees with the
 *   DICOM header, `unsupported_transfer_syntax` (415) for 12-bit lossy JPEG and 16-bit
 *   colour lossless JPEG
 */
export async function decodeFrame(
  codec: FrameCodec,
  frame: Uint8Array,
  g: FrameGeometry,
): Promise<CodecFrame> {
  if (codec === "rle") {
    const bytesPer = g.bitsAllocated / 8;
    const bytes = decodeRle(frame, g.rows * g.columns, g.samplesPerPixel, bytesPer);
    return { samples: littleEndian(bytes, bytesPer, g.signed), rgb: false };
  }
  if (g.bitsAllocated > 16) {
    throw new ApiError(
      "unsupported_image",
      `${CODEC_NAMES[codec]} frames with Bits Allocated ${g.bitsAllocated} are not supported`,
    );
  }
  if (codec === "jpeg2000" || codec === "htj2k") {
    checkHeader(codec, j2kHeader(frame), g);
    // YBR_RCT/YBR_ICT: the inverse component transform is in the codestream and the codec
    // applies it; the photometric interpretation says so, not this flag
    return { samples: await decodeInWorker(codec, frame, g), rgb: false };
  }
  checkHeader(codec, jpegFrameHeader(frame), g);
  if (codec === "jpeg-lossless" && g.samplesPerPixel === 3 && g.bitsAllocated > 8) {
    // jpeg-lossless-decoder-js writes one component only for 16-bit colour
    throw new ApiError(
      "unsupported_transfer_syntax",
      "colour JPEG Lossless with Bits Allocated 16 is not supported; 8-bit colour and 16-bit greyscale are",
    );
  }
  if ((codec === "jpeg-ls" || codec === "jpeg-lossless") && !endsWithEoi(frame)) {
    throw new ApiError(
      "bad_dicom",
      `the ${CODEC_NAMES[codec]} frame is truncated (no end-of-image marker)`,
    );
  }
  const samples = await decodeInWorker(codec, frame, g);
  return { samples, rgb: codec === "jpeg-baseline" && g.samplesPerPixel === 3 };
}
