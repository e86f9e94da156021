/**
 * A model version loaded for serving: its card, and per precision one warmed engine
 * session with the bounded queue that serialises its runs.
 *
 * @module
 */
import type { EngineName, EngineSession, Tensor } from "../engines/engine.ts";
import { type JobTimings, SerialQueue } from "../engines/queue.ts";
import { type EngineChoice, selectEngine } from "../engines/select.ts";
import type { ModelInfo } from "../onnx/inspect.ts";
import type { ModelCard } from "./card.ts";
import { type ModelEntry, readModelSource } from "./repository.ts";

/** A numeric precision a card can name. */
export type Precision = "fp32" | "int8";

/** How sessions are made (server-wide settings). */
export interface LoadOptions {
  /** server-wide engine choice; a card's own `engine` wins when not `auto` */
  engine: EngineChoice;
  threads?: number;
  /** waiting runs allowed per session before 503 */
  maxQueue: number;
  hangTimeoutMs?: number;
}

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
  runtime: RuntimeInfo;
}

/** The warm-up input for a card: its fixed size, or its working size (256² if native). */
export function warmupInput(card: ModelCard): Record<string, Tensor> {
  const { input } = card;
  const round = (v: number) => Math.ceil(v / input.pad_multiple) * input.pad_multiple;
  const h = input.height ?? round(input.resize?.long_side ?? 256);
  const w = input.width ?? round(input.resize?.long_side ?? 256);
  return { [input.name]: { data: new Float32Array(input.channels * h * w), dims: [1, input.channels, h, w] } };
}

/** One served model version. */
export class ModelVersion {
  readonly #slots = new Map<Precision, Promise<Slot>>();
  #loadedAt = new Date();

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

  /** The session for a precision, created (and warmed) on first use. */
  slot(precision: Precision): Promise<Slot> {
    let slot = this.#slots.get(precision);
    if (!slot) {
      slot = this.#createSlot(precision);
      this.#slots.set(precision, slot);
      slot.catch(() => this.#slots.delete(precision)); // a failed load may be retried
    }
    return slot;
  }

  async #createSlot(precision: Precision): Promise<Slot> {
    const { source, info } = await readModelSource(this.entry, precision);
    const choice: EngineChoice = this.card.engine !== "auto" ? this.card.engine : this.options.engine;
    const selection = await selectEngine(choice);
    const session = await selection.engine.createSession(source, {
      threads: this.options.threads,
      warmup: warmupInput(this.card),
      hangTimeoutMs: this.options.hangTimeoutMs,
      allowFallbackAdapter: selection.explicit,
    });
    return {
      session,
      queue: new SerialQueue(this.options.maxQueue),
      runtime: runtimeInfo(session, selection.reason, precision, source.path, info),
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
    return settled.reduce((n, s) => n + (s.status === "fulfilled" ? s.value.queue.depth + (s.value.queue.busy ? 1 : 0) : 0), 0);
  }

  /**
   * Runs the model on prepared inputs, through the session's queue.
   * @throws {QueueFullError} when too many runs wait
   */
  async infer(
    feeds: Record<string, Tensor>,
    precision: Precision = this.card.precision,
    signal?: AbortSignal,
  ): Promise<{ outputs: Record<string, Tensor>; timings: JobTimings; runtime: RuntimeInfo }> {
    const slot = await this.slot(precision);
    const { value, timings } = await slot.queue.run(() => slot.session.run(feeds), signal);
    return { outputs: value, timings, runtime: slot.runtime };
  }

  /** Waits for queued runs, then releases every session. */
  async unload(): Promise<void> {
    const settled = await Promise.allSettled([...this.#slots.values()]);
    for (const s of settled) {
      if (s.status !== "fulfilled") continue;
      await s.value.queue.drain();
      await s.value.session.release();
    }
    this.#slots.clear();
  }
}

function runtimeInfo(session: EngineSession, reason: string, precision: Precision, file: string, info: ModelInfo): RuntimeInfo {
  return {
    engine: session.engine,
    threads: session.threads,
    reason,
    notes: session.notes,
    precision,
    file: file.split("/").pop() ?? file,
    ops: info.ops,
    parameters: info.parameterCount,
  };
}
