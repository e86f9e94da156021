/**
 * A model on the direct kernels as the server runs it: on the HTTP isolate, each run one
 * foreign call on a thread of Deno's blocking pool (the event loop goes on), up to `lanes`
 * runs at once, each with a workspace of its own. No engine host Worker, no message hops, no
 * copy of the input: the Worker lanes that onnxruntime-node needs (it computes on the calling
 * thread) buy nothing here.
 *
 * @module
 */
import type { EngineSession, Tensor } from "../engine.ts";
import type { DirectRunner } from "./runner.ts";

/** A direct runner behind the engine session interface. */
export class DirectSession implements EngineSession {
  readonly engine = "native" as const;
  readonly threads = 1;
  readonly notes: string[];

  /** @param lanes runs that may overlap (each on its own blocking-pool thread) */
  constructor(private runner: DirectRunner, readonly lanes: number) {
    this.notes = [
      `direct kernels (one thread a run), ${
        runner.offThread ? "off the event loop" : "on the event loop"
      }, ${lanes} at once`,
    ];
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
