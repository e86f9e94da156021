/**
 * The codec worker: decodes compressed DICOM frames off the server's thread, so a
 * codestream that sends a codec into a long loop (CharLS on some truncated streams takes
 * tens of seconds) stalls nothing; the client (`dicom_codec_pool.ts`) terminates the
 * worker when a frame takes too long.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import {
  CodecError,
  decodeWithCodec,
  type FrameGeometry,
  prepareCodec,
  type WorkerCodec,
} from "./dicom_codec_impl.ts";

/** A frame to decode. */
export interface DecodeRequest {
  id: number;
  codec: WorkerCodec;
  frame: Uint8Array;
  geometry: FrameGeometry;
}

/** The answers: "started" once the codec is loaded and decoding begins, then the result. */
export type DecodeReply =
  | { id: number; started: true }
  | { id: number; ok: true; samples: Uint8Array | Uint16Array | Int16Array }
  | { id: number; ok: false; corrupt: boolean; message: string };

self.onmessage = async (e: MessageEvent<DecodeRequest>) => {
  const { id, codec, frame, geometry } = e.data;
  try {
    await prepareCodec(codec);
    self.postMessage({ id, started: true } satisfies DecodeReply);
    const samples = await decodeWithCodec(codec, frame, geometry);
    self.postMessage({ id, ok: true, samples } satisfies DecodeReply, [
      samples.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    self.postMessage(
      {
        id,
        ok: false,
        corrupt: err instanceof CodecError,
        message: err instanceof Error ? err.message : String(err),
      } satisfies DecodeReply,
    );
  }
};
