/**
 * A small pool of workers for the CPU-heavy serving stages (decode, preprocess,
 * postprocess, encode), so the HTTP thread only moves bytes and answers probes while a
 * 16 Mpx image is decoded. One job per worker at a time; jobs beyond the pool wait in
 * FIFO order (their number is bounded by admission: every job holds a model-queue place).
 * Buffers are transferred both ways, never copied.
 *
 * A job whose signal aborts (the request deadline, or the client went away) ends its
 * worker with `terminate()` — the only way to stop a decode that is stuck in a loop — and
 * a fresh worker takes its place on the next job. With `idleMs` (`TINYUNET_WORKER_IDLE_MS`,
 * default 30 s) a worker starts on first need and exits after that long without a job: each
 * Worker is an isolate of ~20 MiB (its codecs' modules and heap), so a server that only sees
 * small images holds none (−43 MiB idle with two cores), at the price of one start-up
 * (~0.1-0.3 s here) for the first large image after a quiet spell. With `idleMs` 0 they start
 * with the pool and stay, so no decode pays a start-up.
 *
 * Small images (PNG or baseline JPEG of at most 512², by their header) skip the pool: their
 * whole pipeline is a few milliseconds, less than the hand-over, and keeping them on the
 * HTTP thread keeps the common case as fast as without workers.
 *
 * Size: `TINYUNET_WORKERS` (default: the number of cores, at most 4; 0 runs the stages on
 * the HTTP thread, as tests and tools do).
 *
 * @module
 */
import { ApiError, type ErrorCode } from "../errors.ts";
import { log } from "../server/log.ts";
import {
  finish,
  type Finished,
  type FinishInput,
  isSmallImage,
  prepare,
  type Prepared,
  type PrepareInput,
  transferables,
} from "./stages.ts";
import {
  encodeV2Json,
  parseV2Request,
  type V2JsonInput,
  type V2Request,
} from "../server/v2_tensors.ts";

/** A V2 request body to parse (see {@link parseV2Request}). */
export interface V2ParseInput {
  body: Uint8Array;
  /** `Inference-Header-Content-Length`, if sent */
  headerLength?: string;
  maxElements: number;
}

/**
 * V2 bodies whose JSON part is at most this many bytes are parsed on the calling thread (a
 * binary-extension request's JSON is a few hundred bytes); larger ones in a worker: a 33 MB
 * JSON tensor held the HTTP thread 3.4 s (parse, then flatten), `/v2/health/live` with it.
 */
export const INLINE_JSON_BYTES = 1 << 20;

/**
 * V2 answers in JSON of at most this many values are written on the calling thread; larger
 * in a worker (a 1×3×1600² answer, 48 MB of JSON, held the HTTP thread 1.07 s).
 */
export const INLINE_JSON_VALUES = 1 << 18;

/** Each stage a worker runs: what it is given and what it answers. */
export interface Stages {
  prepare: { input: PrepareInput; result: Prepared };
  finish: { input: FinishInput; result: Finished };
  v2: { input: V2ParseInput; result: V2Request };
  "v2-json": { input: V2JsonInput; result: Uint8Array<ArrayBuffer> };
}

/** A stage's name. */
export type Stage = keyof Stages;

/** A job of stage `S` sent to a worker. */
export type StageJob<S extends Stage = Stage> = {
  [K in S]: { id: number; stage: K; input: Stages[K]["input"] };
}[S];

/** A job sent to a worker. */
export type WorkerRequest = StageJob;

/** A worker's answer. */
export type WorkerReply =
  | { id: number; ok: true; value: Stages[Stage]["result"] }
  | { id: number; ok: false; error: { code?: ErrorCode; message: string } };

/** Thrown when a job is stopped by its signal (its worker was terminated). */
export class StageAbortedError extends Error {
  constructor(readonly reason: unknown) {
    super(reason instanceof Error ? reason.message : String(reason ?? "aborted"));
    this.name = "StageAbortedError";
  }
}

interface Slot {
  worker: Worker;
  idleTimer?: ReturnType<typeof setTimeout>;
}

/** Images up to 512² run on the calling thread (~5-20 ms; a worker round trip costs more). */
export const INLINE_MAX_PIXELS = 512 * 512;

/** Default pool size: the cores, at most 4. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}

/** The stage pool. */
export class StagePool {
  #idle: Slot[] = [];
  #live = 0;
  #waiting: ((slot: Slot) => void)[] = [];
  #nextId = 1;
  #closed = false;
  /** workers terminated because a job's deadline passed or its client left */
  terminated = 0;
  /** images prepared on the calling thread (small enough) */
  inline = 0;

  /**
   * @param size workers at most (0: run the stages on the calling thread)
   * @param idleMs workers start on first need and exit after this long idle; 0: all start
   *   now and stay
   */
  constructor(
    readonly size: number,
    readonly idleMs = 0,
    /** images up to this many pixels run on the calling thread (see {@link isSmallImage}) */
    readonly inlineMaxPixels = INLINE_MAX_PIXELS,
  ) {
    if (idleMs <= 0) { for (let i = 0; i < size; i++) this.#release(this.#spawn()); }
  }

  /** Workers alive now. */
  get live(): number {
    return this.#live;
  }

  /** Decode → preprocess. */
  prepare(input: PrepareInput, signal?: AbortSignal): Promise<Prepared> {
    if (this.size === 0 || isSmallImage(input.bytes, this.inlineMaxPixels)) {
      this.inline++;
      return prepare(input);
    }
    return this.#run({ id: 0, stage: "prepare", input }, signal);
  }

  /** Postprocess → encode. */
  finish(input: FinishInput, signal?: AbortSignal): Promise<Finished> {
    if (this.size === 0 || input.image.width * input.image.height <= this.inlineMaxPixels) {
      return finish(input);
    }
    return this.#run({ id: 0, stage: "finish", input }, signal);
  }

  /**
   * Parses a V2 request body: in a worker when its JSON part is over
   * {@link INLINE_JSON_BYTES} (the body's buffer moves there and back, never copied).
   */
  parseV2(input: V2ParseInput, signal?: AbortSignal): Promise<V2Request> {
    const { body, headerLength, maxElements } = input;
    const jsonBytes = headerLength === undefined ? body.length : Number(headerLength);
    if (this.size === 0 || !(jsonBytes > INLINE_JSON_BYTES)) {
      return Promise.resolve().then(() => parseV2Request(body, headerLength, maxElements));
    }
    return this.#run({ id: 0, stage: "v2", input }, signal);
  }

  /**
   * A V2 answer in JSON as UTF-8 bytes: in a worker past {@link INLINE_JSON_VALUES} values
   * (the tensors' buffers move there, never copied).
   */
  async encodeV2Json(input: V2JsonInput, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
    const values = input.outputs.reduce((n, o) => n + o.tensor.data.length, 0);
    if (this.size === 0 || values <= INLINE_JSON_VALUES) return encodeV2Json(input);
    return await this.#run({ id: 0, stage: "v2-json", input }, signal);
  }

  /** Ends every worker. */
  close(): void {
    this.#closed = true;
    for (const s of this.#idle.splice(0)) this.#end(s);
  }

  async #run<S extends Stage>(
    request: StageJob<S>,
    signal?: AbortSignal,
  ): Promise<Stages[S]["result"]> {
    if (signal?.aborted) throw new StageAbortedError(signal.reason);
    const slot = await this.#acquire(signal);
    const id = this.#nextId++;
    const { worker } = slot;
    return await new Promise((resolve, reject) => {
      const cleanup = () => {
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", onError);
        signal?.removeEventListener("abort", onAbort);
      };
      const onMessage = (e: MessageEvent<WorkerReply>) => {
        if (e.data.id !== id) return;
        cleanup();
        this.#release(slot);
        const reply = e.data;
        // the worker answers a job with its stage's result (worker.ts)
        if (reply.ok) resolve(reply.value as Stages[S]["result"]);
        else {
          reject(
            reply.error.code
              ? new ApiError(reply.error.code, reply.error.message)
              : new Error(reply.error.message),
          );
        }
      };
      const onError = (e: ErrorEvent) => {
        e.preventDefault();
        cleanup();
        this.#discard(slot);
        reject(new Error(`serving worker failed: ${e.message}`));
      };
      const onAbort = () => {
        cleanup();
        this.terminated++;
        this.#discard(slot);
        log("warn", "serving worker terminated", {
          stage: request.stage,
          reason: signal?.reason instanceof Error ? signal.reason.message : String(signal?.reason),
        });
        reject(new StageAbortedError(signal?.reason));
      };
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", onError);
      signal?.addEventListener("abort", onAbort, { once: true });
      // a generic job is one of the union (TypeScript does not narrow a mapped union by S)
      const message = { ...request, id } as WorkerRequest;
      try {
        worker.postMessage(message, { transfer: transferables(message.input) });
      } catch (err) {
        // not sent (a buffer that cannot move): the worker is free again
        cleanup();
        this.#release(slot);
        reject(err);
      }
    });
  }

  #acquire(signal?: AbortSignal): Promise<Slot> {
    const idle = this.#idle.pop();
    if (idle) {
      clearTimeout(idle.idleTimer);
      return Promise.resolve(idle);
    }
    if (this.#live < this.size) return Promise.resolve(this.#spawn());
    return new Promise((resolve, reject) => {
      const take = (slot: Slot) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(slot);
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(take);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(new StageAbortedError(signal?.reason));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(take);
    });
  }

  #spawn(): Slot {
    this.#live++;
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    return { worker };
  }

  #release(slot: Slot) {
    const next = this.#waiting.shift();
    if (next) return next(slot);
    if (this.#closed) return this.#end(slot);
    if (this.idleMs > 0) {
      slot.idleTimer = setTimeout(() => {
        const i = this.#idle.indexOf(slot);
        if (i >= 0) this.#idle.splice(i, 1);
        this.#end(slot);
      }, this.idleMs);
    }
    this.#idle.push(slot);
  }

  /** Ends a worker that is busy or broken; a waiting job gets a fresh one. */
  #discard(slot: Slot) {
    this.#end(slot);
    const next = this.#waiting.shift();
    if (next && !this.#closed) next(this.#spawn());
  }

  #end(slot: Slot) {
    clearTimeout(slot.idleTimer);
    slot.worker.terminate();
    this.#live--;
  }
}
