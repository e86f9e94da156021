/**
 * The client side of the codec worker: one Worker, started on the first compressed frame
 * (a server that never sees one starts nothing), frames decoded one at a time, each under
 * a time limit that grows with its size (counted from when the codec is loaded). A frame
 * past its limit terminates the worker (a
 * fresh one serves the next frame) and is refused as corrupt. The worker is stopped after
 * a minute without work, returning its memory.
 *
 * Where Workers are not available the codecs run on the calling thread, without the
 * time limit.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import {
  CODEC_LABELS,
  CodecError,
  type DecodedSamples,
  decodeWithCodec,
  type FrameGeometry,
  type WorkerCodec,
} from "./dicom_codec_impl.ts";
import type { DecodeReply, DecodeRequest } from "./dicom_codec_worker.ts";

const WORKER_URL = new URL("./dicom_codec_worker.ts", import.meta.url);
const IDLE_MS = 60_000;
/** Starting the worker and loading a codec (module graph, WebAssembly compile). */
const LOAD_TIMEOUT_MS = 60_000;

/** The time a frame may take: 2 s plus 1 s per million samples (the JavaScript lossless JPEG decoder is the slowest). */
export function decodeTimeoutMs(g: FrameGeometry): number {
  return 2_000 + Math.ceil((g.rows * g.columns * g.samplesPerPixel) / 1_000);
}

let worker: Worker | undefined;
let nextId = 0;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
let chain: Promise<unknown> = Promise.resolve();

function stopWorker(): void {
  worker?.terminate();
  worker = undefined;
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  idleTimer = undefined;
}

/** Whether the codec worker is running (tests: nothing starts until a compressed frame). */
export function codecWorkerRunning(): boolean {
  return worker !== undefined;
}

/** Stops the codec worker now (tests, shutdown); the next frame starts a new one. */
export function closeCodecWorker(): void {
  stopWorker();
}

function getWorker(): Worker | undefined {
  if (worker) return worker;
  try {
    worker = new Worker(WORKER_URL, { type: "module" });
  } catch {
    return undefined; // no Workers here: decode in-thread
  }
  return worker;
}

function armIdle(): void {
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  const timer = setTimeout(stopWorker, IDLE_MS);
  Deno.unrefTimer(timer);
  idleTimer = timer;
}

function toApiError(codec: WorkerCodec, corrupt: boolean, message: string): Error {
  return corrupt
    ? new ApiError("bad_dicom", message)
    : new Error(`${CODEC_LABELS[codec]} codec failed: ${message}`);
}

function runOne(codec: WorkerCodec, frame: Uint8Array, g: FrameGeometry): Promise<DecodedSamples> {
  const w = getWorker();
  if (!w) {
    return decodeWithCodec(codec, frame, g).catch((err) => {
      throw err instanceof CodecError ? new ApiError("bad_dicom", err.message) : err;
    });
  }
  const id = ++nextId;
  const limit = decodeTimeoutMs(g);
  return new Promise<DecodedSamples>((resolve, reject) => {
    const expire = (error: Error) => () => {
      cleanup();
      stopWorker();
      reject(error);
    };
    const name = CODEC_LABELS[codec];
    let timer = setTimeout(
      expire(new Error(`the ${name} codec did not load within ${LOAD_TIMEOUT_MS} ms`)),
      LOAD_TIMEOUT_MS,
    );
    const onMessage = (e: MessageEvent<DecodeReply>) => {
      const reply = e.data;
      if (reply.id !== id) return;
      if ("started" in reply) {
        clearTimeout(timer);
        const late = new ApiError(
          "bad_dicom",
          `the ${name} frame did not decode within ${limit} ms: the codestream is corrupt`,
        );
        timer = setTimeout(expire(late), limit);
        return;
      }
      cleanup();
      if (reply.ok) resolve(reply.samples);
      else reject(toApiError(codec, reply.corrupt, reply.message));
    };
    const onError = (e: ErrorEvent) => {
      e.preventDefault();
      cleanup();
      stopWorker();
      reject(new ApiError("bad_dicom", `the ${CODEC_LABELS[codec]} codec crashed on this frame`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      w.removeEventListener("message", onMessage as EventListener);
      w.removeEventListener("error", onError as EventListener);
    };
    w.addEventListener("message", onMessage as EventListener);
    w.addEventListener("error", onError as EventListener);
    const copy = frame.slice();
    w.postMessage(
      { id, codec, frame: copy, geometry: g } satisfies DecodeRequest,
      [copy.buffer],
    );
  });
}

/**
 * Decodes a frame in the codec worker (one frame at a time, in order).
 * @throws {ApiError} `bad_dicom` (400) for a corrupt frame or one past its time limit
 */
export function decodeInWorker(
  codec: WorkerCodec,
  frame: Uint8Array,
  g: FrameGeometry,
): Promise<DecodedSamples> {
  const run = chain.then(() => runOne(codec, frame, g));
  chain = run.catch(() => {}).finally(armIdle);
  return run;
}
