/**
 * A model on the direct kernels on the calling isolate. Native: each run one foreign call on
 * a thread of Deno's blocking pool (the event loop goes on), up to `lanes` runs at once, each
 * with a workspace of its own; no engine host Worker, no message hops, no copy of the input
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
 */
export function directNote(build: "native" | "wasm", where: string, lanes: number): string {
  return `direct kernels (${
    build === "wasm" ? "WebAssembly, " : ""
  }one thread a run), ${where}, ${lanes} at once`;
}

/** A direct runner behind the engine session interface. */
export class DirectSession implements EngineSession {
  readonly threads = 1;
  readonly notes: string[];

  /**
   * @param engine the engine it serves as (native: the native library; wasm: the WebAssembly build)
   * @param lanes runs that may overlap
   * @param offThread whether the runner's kernels run off the event loop (for the notes)
   */
  constructor(
    private runner: DirectRunner,
    readonly engine: "native" | "wasm",
    readonly lanes: number,
    offThread: boolean,
  ) {
    this.notes = [
      directNote(engine, offThread ? "off the event loop" : "on the event loop", lanes),
    ];
  }

  /** A session on `runner`, warmed with `warmup` when given (see the constructor). */
  static async open(
    runner: DirectRunner,
    engine: "native" | "wasm",
    lanes: number,
    offThread: boolean,
    warmup?: Warmup,
  ): Promise<DirectSession> {
    const session = new DirectSession(runner, engine, lanes, offThread);
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
