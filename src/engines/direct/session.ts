/**
 * A model on the direct kernels on the calling isolate. Native: each run one foreign call on
 * one of the kernel library's run threads (the event loop goes on), up to `lanes` runs at once,
 * each with a workspace of its own; no engine host Worker, no message hops, no copy of the input
 * (the Worker lanes that onnxruntime-node needs, as it computes on the calling thread, buy
 * nothing here). WebAssembly where there are no Workers (edge functions): on the event loop.
 *
 * @module
 */
import { type EngineSession, type Tensor, type Warmup, warmupTensors } from "../engine.ts";
import type { DirectRunner } from "./runner.ts";

/**
 * What a model's notes say of a session on the direct kernels.
 * @param where where its runs happen ("off the event loop", "in engine host Workers")
 * @param split whether a run alone may take two threads (native, `TINYUNET_SOLO_THREADS`)
 */
export function directNote(
  build: "native" | "wasm",
  where: string,
  lanes: number,
  split = false,
): string {
  return `direct kernels (${build === "wasm" ? "WebAssembly, " : ""}one thread a run${
    split ? ", two for a run alone where faster" : ""
  }), ${where}, ${lanes} at once`;
}

/** How a direct session runs (see {@link DirectSession}). */
export interface DirectSessionOptions {
  /** the engine it serves as (native: the native library; wasm: the WebAssembly build) */
  engine: "native" | "wasm";
  /** runs that may overlap */
  lanes: number;
  /** whether the runner's kernels run off the event loop (for the notes) */
  offThread: boolean;
  /** whether a run alone may take two threads (for the notes) */
  split?: boolean;
}

/** A direct runner behind the engine session interface. */
export class DirectSession implements EngineSession {
  readonly threads = 1;
  readonly notes: string[];

  readonly engine: "native" | "wasm";
  readonly lanes: number;

  constructor(private runner: DirectRunner, options: DirectSessionOptions) {
    this.engine = options.engine;
    this.lanes = options.lanes;
    const where = options.offThread ? "off the event loop" : "on the event loop";
    this.notes = [directNote(options.engine, where, options.lanes, options.split)];
  }

  /** A session on `runner`, warmed with `warmup` when given. */
  static async open(
    runner: DirectRunner,
    options: DirectSessionOptions,
    warmup?: Warmup,
  ): Promise<DirectSession> {
    const session = new DirectSession(runner, options);
    if (warmup) await session.run(warmupTensors(warmup));
    return session;
  }

  get inputNames(): readonly string[] {
    return this.runner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.runner.outputNames;
  }

  async run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    return (await this.runner.run(feeds)).outputs;
  }

  release(): Promise<void> {
    return this.runner.release();
  }
}
