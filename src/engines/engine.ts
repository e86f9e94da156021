/**
 * The engine interface: one implementation per runtime (onnxruntime-node, onnxruntime-web
 * WASM, onnxruntime-web WebGPU, tfjs-wasm), each in its own file, all interchangeable.
 *
 * @module
 */

/** Engine identifiers, as used in `TINYUNET_ENGINE` and model cards. */
export type EngineName = "native" | "wasm" | "webgpu" | "tfjs-wasm";

/** All engine names, in auto-selection priority order (tfjs-wasm is never auto-picked). */
export const ENGINE_NAMES: readonly EngineName[] = ["native", "webgpu", "wasm", "tfjs-wasm"];

/** A dense float32 tensor (row-major). */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** The bytes of an ONNX model and the external-data files it references. */
export interface ModelSource {
  /** path of the `.onnx` file (external data is resolved relative to it) */
  path: string;
  bytes: Uint8Array;
  /** external-data files, by the `location` the model names */
  externalData: { path: string; data: Uint8Array }[];
}

/**
 * A warm-up input, or a function that makes one: sessions that load more copies later (engine
 * lanes) keep the function, not megabytes of zeros, between loads.
 */
export type Warmup = Record<string, Tensor> | (() => Record<string, Tensor>);

/** The tensors of a {@link Warmup}. */
export function warmupTensors(warmup: Warmup): Record<string, Tensor> {
  return typeof warmup === "function" ? warmup() : warmup;
}

/** Options for {@link Engine.createSession}. */
export interface SessionOptions {
  /** intra-op threads; engines that cannot thread ignore it and report 1 */
  threads?: number;
  /** an input to run once before the session is handed out (engines watch it for hangs) */
  warmup?: Warmup;
  /** a run longer than this is treated as hung (engines that can, restart themselves) */
  hangTimeoutMs?: number;
  /** allow a software (fallback) GPU adapter; only explicit choices set this */
  allowFallbackAdapter?: boolean;
  /** engine lanes (runs that may overlap, each on its own thread); engines that cannot ignore it */
  lanes?: number;
  /**
   * threads of a "solo" copy of a one-thread session, run when nothing else of the model is
   * in flight (a lone request then uses every core); ≤ `threads` or absent: none. Native only;
   * on the direct kernels, 2 or more lets a run alone take two threads where faster (`tu_run_split`).
   */
  soloThreads?: number;
  /**
   * Runs of other requests admitted to this session but not started (read as a run starts):
   * the solo copy serves a run only when it is 0, so that under load (requests still being
   * read or decoded between runs) the one-thread lanes keep the cores. Absent: 0.
   */
  othersWaiting?: () => number;
  /** a lane past the first is released after this long without a run (ms; 0: kept) */
  laneIdleMs?: number;
  /**
   * native and wasm: what runs the model — the direct kernels where they cover it, or
   * onnxruntime(-web) (default `TINYUNET_NATIVE_KERNELS`, `TINYUNET_WASM_KERNELS`); others
   * ignore it
   */
  kernels?: "direct" | "onnxruntime";
}

/**
 * A loaded, warmed model on one engine. At most `lanes` runs may overlap (1 when absent):
 * callers queue them.
 */
export interface EngineSession {
  readonly engine: EngineName;
  /** runs that may be in flight at once */
  readonly lanes?: number;
  /** threads actually in use */
  readonly threads: number;
  /** human-readable notes (fallbacks taken, adapter used) for logs and metadata */
  readonly notes: string[];
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** Whether an engine can run on this host, and why (not). */
export interface EngineProbe {
  available: boolean;
  reason: string;
  /** for WebGPU: the adapter is a software (fallback) one */
  fallbackAdapter?: boolean;
}

/** A runtime that turns ONNX bytes into sessions. */
export interface Engine {
  readonly name: EngineName;
  probe(): Promise<EngineProbe>;
  createSession(model: ModelSource, options?: SessionOptions): Promise<EngineSession>;
}

/** Thrown when a run exceeds its hang timeout (the engine has been restarted or closed). */
export class EngineHangError extends Error {
  constructor(engine: EngineName, ms: number) {
    super(`${engine} engine run did not finish within ${ms} ms`);
    this.name = "EngineHangError";
  }
}

/** Number of elements of a tensor shape. */
export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
