/**
 * A model on the direct engine, behind the native engine's runner interface
 * (`native_runner.ts`): its graph read once, a program and workspaces per input size, a
 * whole run in one foreign call. One thread a run; runs that overlap get workspaces of their
 * own.
 *
 * @module
 */
import type { Tensor } from "../engine.ts";
import type { Runner } from "../native_runner.ts";
import type { ExternalData } from "../../onnx/tensor_data.ts";
import { type DirectGraph, directGraph } from "./graph.ts";
import { type KernelLibrary } from "./kernels.ts";
import { type DirectProgram, directProgram } from "./program.ts";

/** Input sizes whose programs and workspaces are kept (the least recently used goes). */
const KEPT_SIZES = 4;

interface Size {
  program: DirectProgram;
  /** workspaces not in use */
  free: Float32Array[];
}

/** Runs a direct graph with the kernel library. */
export class DirectRunner implements Runner {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly kernels = "direct kernels (one thread a run)";
  #sizes = new Map<string, Size>();

  /**
   * @param offThread run on a thread of Deno's blocking pool (the calling isolate's event loop
   *   runs meanwhile: for a runner on the HTTP isolate) instead of on the calling thread
   */
  constructor(
    readonly graph: DirectGraph,
    private library: KernelLibrary,
    private offThread: boolean,
  ) {
    this.inputNames = [graph.inputName];
    this.outputNames = [graph.outputName];
  }

  #size(h: number, w: number): Size {
    const key = `${h}x${w}`;
    let size = this.#sizes.get(key);
    if (size) {
      this.#sizes.delete(key); // re-inserted as the most recent
    } else {
      size = { program: directProgram(this.graph, h, w), free: [] };
      if (this.#sizes.size >= KEPT_SIZES) this.#sizes.delete(this.#sizes.keys().next().value!);
    }
    this.#sizes.set(key, size);
    return size;
  }

  async run(feeds: Record<string, Tensor>): Promise<{ outputs: Record<string, Tensor> }> {
    const input = feeds[this.graph.inputName];
    if (!input) throw new Error(`missing input ${this.graph.inputName}`);
    const [n, c, h, w] = input.dims;
    if (input.dims.length !== 4 || c !== this.graph.inputChannels) {
      throw new Error(`input [${input.dims}] is not [N, ${this.graph.inputChannels}, H, W]`);
    }
    const size = this.#size(h, w);
    const { program } = size;
    const work = size.free.pop() ?? new Float32Array(program.workFloats);
    const [oc, oh, ow] = program.output;
    const output = new Float32Array(n * oc * oh * ow);
    try {
      for (let i = 0; i < n; i++) {
        const src = input.data.subarray(i * c * h * w, (i + 1) * c * h * w);
        const dst = output.subarray(i * oc * oh * ow, (i + 1) * oc * oh * ow);
        const args = [program.code, program.count, work, this.graph.weights, src, dst] as const;
        const status = this.offThread
          ? await this.library.tu_run_off(...args)
          : this.library.tu_run(...args);
        if (status !== 0) throw new Error(`direct kernels refused instruction ${status - 1}`);
      }
    } finally {
      size.free.push(work);
    }
    return { outputs: { [this.graph.outputName]: { data: output, dims: [n, oc, oh, ow] } } };
  }

  release(): Promise<void> {
    this.#sizes.clear();
    return Promise.resolve();
  }
}

/** Reads a model for the direct engine; throws `UnsupportedGraphError` with the reason. */
export function loadDirectRunner(
  model: Uint8Array,
  externalData: { path: string; data: Uint8Array }[],
  kernels: KernelLibrary,
  offThread: boolean,
): DirectRunner {
  const external: ExternalData = new Map(externalData.map((f) => [f.path, f.data]));
  return new DirectRunner(directGraph(model, external), kernels, offThread);
}
