/**
 * Client side of the onnxruntime-web engines: a session running in a dedicated Worker
 * (see `onnx_web_worker.ts`), watched for hangs.
 *
 * A warm-up run that does not finish within the hang timeout terminates the worker and
 * retries in a fresh one; after the retries it falls back to one thread (which has never
 * been seen to hang) and records why in `notes`. A hang after warm-up rejects that run with
 * {@link EngineHangError} and restarts the worker, so later runs are served again.
 *
 * @module
 */
import {
  EngineHangError,
  type EngineName,
  type EngineSession,
  type ModelSource,
  type SessionOptions,
  type Tensor,
} from "./engine.ts";
import type { InitMessage, WorkerReply } from "./onnx_web_worker.ts";

/** The worker script; tests substitute a scripted one. */
export const WORKER_URL = new URL("./onnx_web_worker.ts", import.meta.url);
/**
 * A run longer than this counts as hung (unless the caller sets `hangTimeoutMs`).
 * Starting a worker and creating the session (compiling wasm, reading weights) may take
 * long; only runs hang. `TINYUNET_WEB_HANG_TIMEOUT_MS` and `TINYUNET_WEB_LOAD_TIMEOUT_MS`
 * raise them where everything is slow (an emulated CPU: the linux-arm64 test under
 * qemu-user runs wasm 30-50× slower).
 */
const DEFAULT_HANG_MS = envMs("TINYUNET_WEB_HANG_TIMEOUT_MS", 30_000);
const LOAD_TIMEOUT_MS = envMs("TINYUNET_WEB_LOAD_TIMEOUT_MS", 120_000);

function envMs(name: string, fallback: number): number {
  const raw = globalThis.Deno?.env.get(name);
  const value = Number(raw);
  return raw && Number.isFinite(value) && value >= 1000 ? value : fallback;
}

interface Pending {
  resolve(outputs: Record<string, Tensor>): void;
  reject(err: Error): void;
}

/** One Worker holding one onnxruntime-web session. */
class WorkerHandle {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  #nextId = 0;
  #ready: Promise<{ inputNames: string[]; outputNames: string[] }>;

  constructor(init: InitMessage, url: URL) {
    this.worker = new Worker(url, { type: "module" });
    let readyResolve!: (v: { inputNames: string[]; outputNames: string[] }) => void;
    let readyReject!: (e: Error) => void;
    this.#ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const msg = e.data;
      if (msg.type === "ready") readyResolve(msg);
      else if (msg.type === "result") this.#settle(msg.id, (p) => p.resolve(msg.outputs));
      else if (msg.id === undefined) readyReject(new Error(msg.message));
      else this.#settle(msg.id, (p) => p.reject(new Error(msg.message)));
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      const err = new Error(`engine worker failed: ${e.message}`);
      readyReject(err);
      this.failAll(err);
    };
    this.worker.postMessage(init);
  }

  ready() {
    return this.#ready;
  }

  #settle(id: number, fn: (p: Pending) => void) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    fn(p);
  }

  run(
    feeds: Record<string, Tensor>,
    timeoutMs: number,
    engine: EngineName,
  ): Promise<Record<string, Tensor>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new EngineHangError(engine, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (o) => (clearTimeout(timer), resolve(o)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      // Copy inputs: the caller may reuse its buffers.
      this.worker.postMessage({ type: "run", id, feeds });
    });
  }

  failAll(err: Error) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  terminate() {
    this.failAll(new Error("engine worker terminated"));
    this.worker.terminate();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** A hang-guarded onnxruntime-web session in a Worker. */
export class WebWorkerSession implements EngineSession {
  readonly notes: string[] = [];
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  #handle!: WorkerHandle;
  #threads: number;

  private constructor(
    readonly engine: EngineName,
    private init: Omit<InitMessage, "threads">,
    threads: number,
    private hangMs: number,
    private workerUrl: URL,
  ) {
    this.#threads = threads;
  }

  get threads() {
    return this.#threads;
  }

  /**
   * Starts a worker, loads the model and runs the warm-up under the watchdog.
   * @param watchdog.retries fresh workers to try at the requested thread count before falling back to 1
   * @param watchdog.workerUrl the worker script (tests substitute a scripted one)
   */
  static async create(
    engine: EngineName,
    backend: "wasm" | "webgpu",
    model: ModelSource,
    options: SessionOptions,
    defaultThreads: number,
    watchdog: { retries?: number; workerUrl?: URL } = {},
  ): Promise<WebWorkerSession> {
    let retries = watchdog.retries ?? 2;
    const threads = Math.max(1, options.threads ?? defaultThreads);
    const init = {
      type: "init" as const,
      backend,
      model: model.bytes,
      externalData: model.externalData,
    };
    const hangMs = options.hangTimeoutMs ?? DEFAULT_HANG_MS;
    const session = new WebWorkerSession(
      engine,
      init,
      threads,
      hangMs,
      watchdog.workerUrl ?? WORKER_URL,
    );
    for (let attempt = 0;; attempt++) {
      try {
        await session.#start(options.warmup);
        return session;
      } catch (err) {
        if (!(err instanceof EngineHangError)) throw err;
        if (attempt < retries) {
          session.notes.push(`warm-up hung with ${session.#threads} threads; restarted the worker`);
          continue;
        }
        if (session.#threads === 1) throw err;
        session.notes.push(
          `warm-up hung ${attempt + 1}× with ${session.#threads} threads; fell back to 1 thread`,
        );
        session.#threads = 1;
        retries = attempt + 1; // one more try at 1 thread
      }
    }
  }

  async #start(warmup?: Record<string, Tensor>) {
    this.#handle?.terminate();
    const handle = new WorkerHandle({ ...this.init, threads: this.#threads }, this.workerUrl);
    this.#handle = handle;
    try {
      const names = await withTimeout(
        handle.ready(),
        LOAD_TIMEOUT_MS,
        () =>
          new Error(`${this.engine} engine did not load the model within ${LOAD_TIMEOUT_MS} ms`),
      );
      this.inputNames = names.inputNames;
      this.outputNames = names.outputNames;
      if (warmup) await handle.run(warmup, this.hangMs, this.engine);
    } catch (err) {
      handle.terminate();
      throw err;
    }
  }

  async run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    try {
      return await this.#handle.run(feeds, this.hangMs, this.engine);
    } catch (err) {
      if (err instanceof EngineHangError) {
        this.notes.push(`a run hung after ${this.hangMs} ms; worker restarted`);
        // Restart in the background; the next run waits on the fresh worker's readiness.
        await this.#start().catch(() => {});
      }
      throw err;
    }
  }

  release(): Promise<void> {
    this.#handle?.terminate();
    return Promise.resolve();
  }
}
