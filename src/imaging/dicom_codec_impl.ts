/**
 * The codec calls themselves, run inside the codec worker (`dicom_codec_worker.ts`):
 * Cornerstone's WebAssembly builds of libjpeg-turbo, CharLS, OpenJPEG and OpenJPH, and
 * `jpeg-lossless-decoder-js`. Each is imported the first time a frame needs it. A trapped
 * WebAssembly instance is dropped and a fresh one made for the next frame.
 *
 * Errors are plain `{code, message}` objects (the worker posts them; the main thread turns
 * them into `ApiError`s).
 *
 * @module
 */

/** What the DICOM header says a frame holds. */
export interface FrameGeometry {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
}

/** Codecs that run in the worker. */
export type WorkerCodec = "jpeg-baseline" | "jpeg-lossless" | "jpeg-ls" | "jpeg2000" | "htj2k";

/** Interleaved decoded samples. */
export type DecodedSamples = Uint8Array | Uint16Array | Int16Array;

/** A decoding failure the client caused (corrupt data). */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}

/** Names for messages. */
export const CODEC_LABELS: Record<WorkerCodec | "rle", string> = {
  "jpeg-baseline": "JPEG",
  "jpeg-lossless": "JPEG Lossless",
  "jpeg-ls": "JPEG-LS",
  "jpeg2000": "JPEG 2000",
  "htj2k": "HTJ2K",
  "rle": "RLE",
};

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
type WasmCodec = Exclude<WorkerCodec, "jpeg-lossless">;

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

/** Samples over `bytes`, a fresh copy of the decoder's buffer (its own ArrayBuffer). */
function typed(bytes: Uint8Array, bits: number, signed: boolean): DecodedSamples {
  // embind hands out a Uint8ClampedArray: viewed as a plain Uint8Array (no copy), the 8-bit
  // fast paths that test `instanceof Uint8Array` (preprocess) take it
  if (bits <= 8) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  return signed ? new Int16Array(bytes.buffer) : new Uint16Array(bytes.buffer);
}

async function decodeWasm(
  codec: WasmCodec,
  frame: Uint8Array,
  g: FrameGeometry,
): Promise<DecodedSamples> {
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
      throw new CodecError(
        `the ${
          CODEC_LABELS[codec]
        } frame decoded to ${info.width}×${info.height}×${info.componentCount}; the DICOM header says ${g.columns}×${g.rows}×${g.samplesPerPixel}`,
      );
    }
    const bytesPer = info.bitsPerSample <= 8 ? 1 : 2;
    const decoded = decoder.getDecodedBuffer();
    const n = g.rows * g.columns * g.samplesPerPixel;
    if (decoded.length < n * bytesPer) {
      throw new CodecError(`the ${CODEC_LABELS[codec]} frame decoded short`);
    }
    // embind's getDecodedBuffer already hands out a fresh copy of the decoder's buffer: use
    // it as it is when it is exactly the frame (a 4096² RGB frame: 48 MiB less at the peak)
    const exact = decoded.length === n * bytesPer && decoded.byteOffset === 0 &&
      decoded.buffer.byteLength === decoded.length;
    let samples = typed(
      exact ? decoded : decoded.slice(0, n * bytesPer),
      info.bitsPerSample,
      info.isSigned,
    );
    // CharLS returns colour planes one after another when the stream is not interleaved
    if (codec === "jpeg-ls" && g.samplesPerPixel === 3 && decoder.getInterleaveMode?.() === 0) {
      samples = interleave(samples, g.rows * g.columns);
    }
    return samples;
  } catch (err) {
    if (err instanceof CodecError) throw err;
    modules.delete(codec); // a trapped instance may be corrupt: start afresh next time
    const why = err instanceof Error ? err.message : typeof err === "string" ? err : "codec error";
    throw new CodecError(`the ${CODEC_LABELS[codec]} frame does not decode: ${why.slice(0, 160)}`);
  } finally {
    try {
      decoder?.delete();
    } catch { /* the instance is already gone */ }
  }
}

/** RRR…GGG…BBB… → RGBRGB… */
export function interleave<T extends DecodedSamples>(planar: T, pixels: number): T {
  const out = new (planar.constructor as new (n: number) => T)(planar.length);
  for (let i = 0; i < pixels; i++) {
    out[3 * i] = planar[i];
    out[3 * i + 1] = planar[pixels + i];
    out[3 * i + 2] = planar[2 * pixels + i];
  }
  return out;
}

async function decodeJpegLossless(frame: Uint8Array, g: FrameGeometry): Promise<DecodedSamples> {
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
    throw new CodecError(
      `the JPEG Lossless frame does not decode: ${
        String((err as Error)?.message ?? err).slice(0, 160)
      }`,
    );
  }
}

/**
 * Forgets a codec's WebAssembly instance, so the memory its heap grew to (a WebAssembly
 * memory never shrinks) is returned once collected; the next frame makes a fresh instance.
 * Called after large images.
 */
export function releaseCodec(codec: WorkerCodec): void {
  if (codec !== "jpeg-lossless") modules.delete(codec);
}

/** Loads a codec (its module and WebAssembly instance) without decoding anything. */
export async function prepareCodec(codec: WorkerCodec): Promise<void> {
  if (codec === "jpeg-lossless") await import("jpeg-lossless-decoder-js");
  else await wasmModule(codec);
}

/** Decodes one frame with a worker codec. */
export function decodeWithCodec(
  codec: WorkerCodec,
  frame: Uint8Array,
  g: FrameGeometry,
): Promise<DecodedSamples> {
  return codec === "jpeg-lossless" ? decodeJpegLossless(frame, g) : decodeWasm(codec, frame, g);
}
