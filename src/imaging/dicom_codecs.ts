/**
 * Decoders for compressed DICOM frames, from the imaging community's own codecs:
 * libjpeg-turbo (JPEG baseline/extended 8-bit), `jpeg-lossless-decoder-js` (JPEG lossless,
 * processes 14 and 14 SV1), CharLS (JPEG-LS), OpenJPEG (JPEG 2000) and OpenJPH (HTJ2K) —
 * the WebAssembly builds Cornerstone publishes — plus RLE ({@link decodeRle}).
 *
 * Each codec is imported the first time a frame needs it (start-up time and memory of a
 * server that never sees a compressed file are unchanged). Before any decoding, the
 * codestream's own header (JPEG SOF, J2K SIZ) must agree with the DICOM Rows, Columns and
 * Samples per Pixel that the pixel limit was checked against, so a codestream cannot make
 * the codec allocate more than the limit allows. A codec failure is a 400 `bad_dicom`; a
 * WebAssembly instance that failed is dropped and a fresh one made for the next frame.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { decodeRle } from "./dicom_rle.ts";
import type { FrameCodec } from "./dicom_transfer_syntax.ts";

/** What the DICOM header says a frame holds. */
export interface FrameGeometry {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
}

/** A decoded frame: interleaved sample values. */
export interface CodecFrame {
  samples: Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;
  /** the codec has already turned YCbCr into RGB (libjpeg-turbo does for 3-component JPEG) */
  rgb: boolean;
}

/** The Emscripten/embind decoder object the Cornerstone codecs share. */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  readHeader?(): void;
  decode(): void;
  getFrameInfo(): {
    width: number;
    height: number;
    bitsPerSample: number;
    componentCount: number;
    isSigned: boolean;
  };
  getInterleaveMode?(): number;
  delete(): void;
}
type WasmModule = Record<string, new () => WasmDecoder>;

const WASM_CODECS = {
  "jpeg-baseline": {
    load: () => import("@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs"),
    decoder: "JPEGDecoder",
  },
  "jpeg-ls": {
    load: () => import("@cornerstonejs/codec-charls/decodewasmjs"),
    decoder: "JpegLSDecoder",
  },
  "jpeg2000": {
    load: () => import("@cornerstonejs/codec-openjpeg/decodewasmjs"),
    decoder: "J2KDecoder",
  },
  "htj2k": { load: () => import("@cornerstonejs/codec-openjph/wasmjs"), decoder: "HTJ2KDecoder" },
} as const;
type WasmCodec = keyof typeof WASM_CODECS;

const modules = new Map<WasmCodec, Promise<WasmModule>>();

function wasmModule(codec: WasmCodec): Promise<WasmModule> {
  let m = modules.get(codec);
  if (!m) {
    m = WASM_CODECS[codec].load().then((mod) => {
      const factory = (mod as { default: (o: object) => Promise<WasmModule> }).default;
      // OpenJPEG prints progress on stdout: keep it out of the server log
      return factory({ print: () => {}, printErr: () => {} });
    });
    m.catch(() => modules.delete(codec));
    modules.set(codec, m);
  }
  return m;
}

/** The codecs loaded so far (for tests of lazy loading). */
export function loadedCodecs(): string[] {
  return [...modules.keys()];
}

const CODEC_NAMES: Record<FrameCodec, string> = {
  "jpeg-baseline": "JPEG",
  "jpeg-lossless": "JPEG Lossless",
  "jpeg-ls": "JPEG-LS",
  "jpeg2000": "JPEG 2000",
  "htj2k": "HTJ2K",
  "rle": "RLE",
};

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

function typed(bytes: Uint8Array, bits: number, signed: boolean): CodecFrame["samples"] {
  if (bits <= 8) return bytes;
  const copy = bytes.slice().buffer;
  return signed ? new Int16Array(copy) : new Uint16Array(copy);
}

async function decodeWasm(codec: WasmCodec, frame: Uint8Array, g: FrameGeometry) {
  const mod = await wasmModule(codec);
  const Decoder = mod[WASM_CODECS[codec].decoder];
  let decoder: WasmDecoder | undefined;
  try {
    decoder = new Decoder();
    decoder.getEncodedBuffer(frame.length).set(frame);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (
      info.width !== g.columns || info.height !== g.rows ||
      info.componentCount !== g.samplesPerPixel
    ) {
      throw new ApiError(
        "bad_dicom",
        `the ${
          CODEC_NAMES[codec]
        } frame decoded to ${info.width}×${info.height}×${info.componentCount}; the DICOM header says ${g.columns}×${g.rows}×${g.samplesPerPixel}`,
      );
    }
    const bytesPer = info.bitsPerSample <= 8 ? 1 : 2;
    const decoded = decoder.getDecodedBuffer();
    const n = g.rows * g.columns * g.samplesPerPixel;
    if (decoded.length < n * bytesPer) {
      throw new ApiError("bad_dicom", `the ${CODEC_NAMES[codec]} frame decoded short`);
    }
    let samples = typed(decoded.slice(0, n * bytesPer), info.bitsPerSample, info.isSigned);
    // CharLS returns colour planes one after another when the stream is not interleaved
    if (codec === "jpeg-ls" && g.samplesPerPixel === 3 && decoder.getInterleaveMode?.() === 0) {
      samples = interleave(samples, g.rows * g.columns);
    }
    return samples;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    modules.delete(codec); // a trapped instance may be corrupt: start afresh next time
    const why = err instanceof Error ? err.message : typeof err === "string" ? err : "codec error";
    throw new ApiError(
      "bad_dicom",
      `the ${CODEC_NAMES[codec]} frame does not decode: ${why.slice(0, 160)}`,
    );
  } finally {
    try {
      decoder?.delete();
    } catch { /* the instance is already gone */ }
  }
}

/** RRR…GGG…BBB… → RGBRGB… */
export function interleave<T extends CodecFrame["samples"]>(planar: T, pixels: number): T {
  const out = new (planar.constructor as new (n: number) => T)(planar.length);
  for (let i = 0; i < pixels; i++) {
    out[3 * i] = planar[i];
    out[3 * i + 1] = planar[pixels + i];
    out[3 * i + 2] = planar[2 * pixels + i];
  }
  return out;
}

async function decodeJpegLossless(frame: Uint8Array, g: FrameGeometry) {
  const { Decoder } = await import("jpeg-lossless-decoder-js");
  try {
    const copy = frame.slice().buffer;
    const out = new Decoder().decode(copy, 0, copy.byteLength, g.bitsAllocated <= 8 ? 1 : 2);
    const n = g.rows * g.columns * g.samplesPerPixel;
    const samples = g.bitsAllocated <= 8
      ? new Uint8Array(out.buffer, out.byteOffset, n)
      : new Uint16Array(out.buffer, out.byteOffset, n);
    return samples;
  } catch (err) {
    throw new ApiError(
      "bad_dicom",
      `the JPEG Lossless frame does not decode: ${
        String((err as Error)?.message ?? err).slice(0, 160)
      }`,
    );
  }
}

function littleEndian(bytes: Uint8Array, bytesPer: number, signed: boolean): CodecFrame["samples"] {
  if (bytesPer === 1) return bytes;
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (bytesPer === 2) return signed ? new Int16Array(buf) : new Uint16Array(buf);
  return signed ? new Int32Array(buf) : new Uint32Array(buf);
}

/**
 * Decodes one compressed frame.
 * @throws {ApiError} `bad_dicom` (400) when the frame is corrupt or disagrees with the
 *   DICOM header, `unsupported_transfer_syntax` (415) for 12-bit lossy JPEG
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
    return { samples: await decodeWasm(codec, frame, g), rgb: false };
  }
  checkHeader(codec, jpegFrameHeader(frame), g);
  if (codec === "jpeg-lossless") return { samples: await decodeJpegLossless(frame, g), rgb: false };
  const samples = await decodeWasm(codec, frame, g);
  return { samples, rgb: codec === "jpeg-baseline" && g.samplesPerPixel === 3 };
}
