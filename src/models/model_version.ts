/**
 * A model version loaded for serving: its card, and per precision one warmed engine
 * session with the bounded queue that serialises its runs.
 *
 * Every run is reported to an optional {@link InferenceObserver} (metrics, logs). A
 * version that is unloaded is *retired* first: runs already queued finish on it, and a
 * request that looked it up before the swap but calls `infer` after is served by its
 * replacement (or told the model was unloaded), never by a released session.
 *
 * @module
 */
import type { EngineName, EngineSession, Tensor } from "../engines/engine.ts";
import {
  type JobTimings,
  QueueAbortedError,
  QueueFullError,
  type QueueTicket,
  type RunGate,
  SerialQueue,
} from "./queue.ts";
import { ApiError } from "../errors.ts";
import { Batcher, type BatchSettings } from "./batcher.ts";
import { type EngineChoice, selectEngine } from "../engines/select.ts";
import { runWithTiles } from "../engines/tiles.ts";
import type { ModelInfo } from "../onnx/inspect.ts";
import type { ModelCard } from "./card.ts";
import { type ModelEntry, readModelSource } from "./repository.ts";
import { beginWork } from "../memory/collect.ts";

/** A numeric precision a card can name. */
export type Precision = "fp32" | "int8";

/** How sessions are made (server-wide settings). */
export interface LoadOptions {
  /** server-wide engine choice; a card's own `engine` wins when not `auto` */
  engine: EngineChoice;
  threads?: number;
  /** threads of the solo copy of a one-thread session (engines/host_session.ts); ≤ 1: none */
  soloThreads?: number;
  /** an input over this many pixels runs as overlapping tiles (engines/tiles.ts); 0 or absent: never */
  tilePixels?: number;
  /** the process-wide cap on engine runs in flight, shared by every version's queue */
  runGate?: RunGate;
  /** waiting runs allowed per session before 503 */
  maxQueue: number;
  /** dynamic batching of same-shape requests (off when absent or maxBatch 1) */
  batch?: BatchSettings;
  hangTimeoutMs?: number;
  /** an engine lane released after this long without a run (0: kept; see HostedSession) */
  laneIdleMs?: number;
  /** told about every run (success or not) */
  observer?: InferenceObserver;
}

/** How a run ended: ran, refused by a full queue, abandoned while queued, or failed in the engine. */
export type InferenceOutcome = "success" | "queue_full" | "aborted" | "failed";

/** One run, as reported to an {@link InferenceObserver}. */
export interface InferenceEvent {
  model: string;
  version: string;
  precision: Precision;
  /** the engine, when the session was loaded */
  engine?: EngineName;
  outcome: InferenceOutcome;
  /** time spent waiting in the queue (ms) */
  queueMs: number;
  /** time spent in the engine (ms; 0 when it never ran) */
  computeMs: number;
  error?: unknown;
}

/** Receives every run's outcome and timings; must not throw. */
export type InferenceObserver = (event: InferenceEvent) => void;

/** Engine facts for metadata and logs. */
export interface RuntimeInfo {
  engine: EngineName;
  threads: number;
  reason: string;
  notes: string[];
  precision: Precision;
  file: string;
  ops: string[];
  parameters: number;
}

interface Slot {
  session: EngineSession;
  queue: SerialQueue;
  batcher: Batcher;
  runtime: RuntimeInfo;
}

/** The side of a native warm-up input for a card without a fixed size (rounded up to its pad multiple). */
export const WARMUP_SIDE = 64;

/**
 * The warm-up input's shape for a card: a fixed-size card's size; else, for the native
 * engine (`small`), a small square ({@link WARMUP_SIDE}), and for the others the working size
 * (the long side, 256² if none). A native warm-up checks that the session runs and sets up
 * its kernels; at the working size it mostly faulted in fresh pages (~15 µs per 4-KiB page on
 * the project's VM; the ISBI student's 512² warm-up took ~250 ms of the start), and with
 * onnxruntime's arena the first real run sizes the arena anyway. The web engines keep the
 * working size (WebGPU compiles its pipelines per shape; not measured at 64²).
 */
export function warmupDims(card: ModelCard, small = true): [number, number, number, number] {
  const { input } = card;
  const round = (v: number) => Math.ceil(v / input.pad_multiple) * input.pad_multiple;
  const side = round(small ? WARMUP_SIDE : input.resize?.long_side ?? 256);
  return [1, input.channels, input.height ?? side, input.width ?? side];
}

/** The warm-up input for a card (zeros of {@link warmupDims}). */
export function warmupInput(card: ModelCard, small = true): Record<string, Tensor> {
  const dims = warmupDims(card, small);
  return { [card.input.name]: { data: new Float32Array(dims[1] * dims[2] * dims[3]), dims } };
}

/** Models below this many parameters run on one thread unless told otherwise. */
export const SMALL_MODEL_PARAMETERS = 1_000_000;

/**
 * Thread default by model size: a TinyUnet-sized model (~80 k parameters) runs on one
 * onnxruntime thread, leaving the other cores to the JS thread that decodes, encodes and
 * answers HTTP (a second intra-op thread shortens a run in isolation but competes with that
 * work under load; `deno task bench` measures both, see bench/RESULTS.md); big models keep
 * the engine's default (all cores). `TINYUNET_THREADS` overrides.
 */
export function smallModelThreads(info: ModelInfo): number | undefined {
  return info.parameterCount < SMALL_MODEL_PARAMETERS ? 1 : undefined;
}

/** One served model version. */
export class ModelVersion {
  readonly #slots = new Map<Precision, Promise<Slot>>();
  #loadedAt = new Date();
  /** set once unloading starts; `replacement` serves late callers */
  #retired?: { replacement?: ModelVersion };
  /** tiles run so far by inputs that went as overlapping tiles (engines/tiles.ts) */
  tiles = 0;

  private constructor(readonly entry: ModelEntry, private options: LoadOptions) {}

  get name() {
    return this.entry.name;
  }
  get version() {
    return this.entry.version;
  }
  get card(): ModelCard {
    return this.entry.card;
  }
  get loadedAt() {
    return this.#loadedAt;
  }

  /** Precisions this version has files for. */
  get precisions(): Precision[] {
    return this.card.files.int8 ? ["fp32", "int8"] : ["fp32"];
  }

  /** Loads and warms the card's default precision; the other loads on first use. */
  static async load(entry: ModelEntry, options: LoadOptions): Promise<ModelVersion> {
    const mv = new ModelVersion(entry, options);
    await mv.slot(entry.card.precision);
    return mv;
  }

  /** Whether this version is being (or has been) unloaded. */
  get retired(): boolean {
    return this.#retired !== undefined;
  }

  /** The session for a precision, created (and warmed) on first use. */
  slot(precision: Precision): Promise<Slot> {
    if (this.#retired) return Promise.reject(this.#unloadedError());
    let slot = this.#slots.get(precision);
    if (!slot) {
      slot = this.#createSlot(precision);
      this.#slots.set(precision, slot);
      slot.catch(() => this.#slots.delete(precision)); // a failed load may be retried
    }
    return slot;
  }

  async #createSlot(precision: Precision): Promise<Slot> {
    const { source, info, notes } = await readModelSource(this.entry, precision);
    const choice: EngineChoice = this.card.engine !== "auto"
      ? this.card.engine
      : this.options.engine;
    const selection = await selectEngine(choice);
    const threads = this.options.threads ?? smallModelThreads(info);
    const made: { queue?: SerialQueue } = {}; // the queue comes once the session says its lanes
    const session = await selection.engine.createSession(source, {
      threads,
      soloThreads: threads === 1 ? this.options.soloThreads : undefined,
      othersWaiting: () => made.queue?.ahead ?? 0,
      // made when a copy loads, not kept: zeros of the input size (MiB for a big input)
      warmup: () => warmupInput(this.card, selection.engine.name === "native"),
      hangTimeoutMs: this.options.hangTimeoutMs,
      laneIdleMs: this.options.laneIdleMs,
      allowFallbackAdapter: selection.explicit,
    });
    const queue = new SerialQueue(this.options.maxQueue, session.lanes ?? 1, this.options.runGate);
    made.queue = queue;
    return {
      session,
      queue,
      batcher: new Batcher(
        queue,
        (feeds, signal) =>
          runWithTiles(
            session,
            feeds,
            info.receptiveField,
            this.options.tilePixels ?? 0,
            () => this.tiles++,
            signal,
          ),
        this.options.batch ?? { maxBatch: 1, maxDelayMs: 0 },
      ),
      runtime: runtimeInfo(session, selection.reason, precision, source.path, info, notes),
    };
  }

  /** Runtime facts of the precisions loaded so far. */
  async runtime(): Promise<RuntimeInfo[]> {
    const settled = await Promise.allSettled([...this.#slots.values()]);
    return settled.flatMap((s) => (s.status === "fulfilled" ? [s.value.runtime] : []));
  }

  /** Runs waiting plus running, over all precisions loaded. */
  async queueDepth(): Promise<number> {
    const settled = await Promise.allSettled([...this.#slots.values()]);
    return settled.reduce(
      (n, s) =>
        n + (s.status === "fulfilled" ? s.value.queue.depth + (s.value.queue.busy ? 1 : 0) : 0),
      0,
    );
  }

  /**
   * Admission: reserves a place in the queue of `precision` before the request's body is
   * read or decoded (loads that precision first if it is not loaded yet).
   * @throws {QueueFullError} when the queue is full (reported as `queue_full`)
   * @throws {ApiError} `model_not_found` when this version was unloaded with no replacement
   */
  async admit(precision: Precision = this.card.precision): Promise<QueueTicket> {
    const replacement = this.#retired?.replacement;
    if (replacement) return await replacement.admit(precision);
    if (this.#retired) throw this.#unloadedError();
    const slot = await this.slot(precision);
    try {
      return slot.queue.reserve();
    } catch (err) {
      if (err instanceof QueueFullError) this.#report(precision, slot, "queue_full", 0, 0, err);
      throw err;
    }
  }

  /**
   * Runs the model on prepared inputs, through the session's queue.
   * @throws {QueueFullError} when too many runs wait
   * @throws {QueueAbortedError} when `signal` aborts while the run waits
   * @throws {ApiError} `model_not_found` when this version was unloaded with no replacement
   * @param ticket the place {@link admit} reserved (released whatever happens)
   */
  async infer(
    feeds: Record<string, Tensor>,
    precision: Precision = this.card.precision,
    signal?: AbortSignal,
    ticket?: QueueTicket,
  ): Promise<{ outputs: Record<string, Tensor>; timings: JobTimings; runtime: RuntimeInfo }> {
    const replacement = this.#retired?.replacement;
    if (replacement) {
      ticket?.release();
      return await replacement.infer(feeds, precision, signal);
    }
    const started = performance.now();
    const endWork = beginWork();
    let slot: Slot | undefined;
    try {
      slot = await this.slot(precision);
      // Re-checked after the await: unloading may have begun meanwhile (it sets #retired
      // synchronously, and queues are drained only after that).
      if (this.#retired) {
        ticket?.release();
        const late = this.#retired.replacement;
        if (late) return await late.infer(feeds, precision, signal);
        throw this.#unloadedError();
      }
      const s = slot;
      const { value, timings } = await s.batcher.run(feeds, signal, ticket);
      this.#report(precision, slot, "success", timings.queueMs, timings.computeMs);
      return { outputs: value, timings, runtime: slot.runtime };
    } catch (caught) {
      ticket?.release();
      const waited = performance.now() - started;
      // a tiled run stops between tiles once its request is over (engines/tiles.ts)
      const err = signal?.aborted && caught === signal.reason
        ? new QueueAbortedError(signal.reason, "stopped between tiles")
        : caught;
      if (err instanceof QueueFullError) this.#report(precision, slot, "queue_full", 0, 0, err);
      else if (err instanceof QueueAbortedError) {
        this.#report(precision, slot, "aborted", waited, 0, err);
      } else if (slot && !(err instanceof ApiError)) {
        this.#report(precision, slot, "failed", 0, waited, err);
      }
      throw err;
    } finally {
      endWork();
    }
  }

  #report(
    precision: Precision,
    slot: Slot | undefined,
    outcome: InferenceOutcome,
    queueMs: number,
    computeMs: number,
    error?: unknown,
  ) {
    try {
      this.options.observer?.({
        model: this.name,
        version: this.version,
        precision,
        engine: slot?.runtime.engine,
        outcome,
        queueMs,
        computeMs,
        error,
      });
    } catch { /* an observer must not break serving */ }
  }

  #unloadedError() {
    return new ApiError(
      "model_not_found",
      `model "${this.name}" version "${this.version}" was unloaded`,
    );
  }

  /**
   * Retires this version, waits for its queued runs, then releases every session.
   * @param replacement serves requests that still hold this version (a reload of the
   *   same version); without one they get `model_not_found`
   */
  async unload(replacement?: ModelVersion): Promise<void> {
    this.#retired ??= { replacement };
    const settled = await Promise.allSettled([...this.#slots.values()]);
    for (const s of settled) {
      if (s.status !== "fulfilled") continue;
      await s.value.queue.drain();
      await s.value.session.release();
    }
    this.#slots.clear();
  }
}

function runtimeInfo(
  session: EngineSession,
  reason: string,
  precision: Precision,
  file: string,
  info: ModelInfo,
  sourceNotes: string[],
): RuntimeInfo {
  return {
    engine: session.engine,
    threads: session.threads,
    reason,
    notes: [...sourceNotes, ...session.notes],
    precision,
    file: file.split("/").pop() ?? file,
    ops: info.ops,
    parameters: info.parameterCount,
  };
}
