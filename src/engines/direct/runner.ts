/**
 * A model on the direct engine, behind the native engine's runner interface
 * (`native_runner.ts`): its graph read once, a program and workspaces per input size, a
 * whole run in one foreign call. One thread a run; runs that overlap get workspaces of their
 * own. Workspaces (~4 MiB for a 256×192 image) are dropped once no run has come for
 * {@link WORKSPACE_IDLE_MS}, before the isolate's idle collection (`TINYUNET_IDLE_GC_MS`,
 * 1 s) gives their memory back: held through a burst, not after it.
 *
 * @module
 */
import { takeTensor } from "../../memory/tensor_pool.ts";
import type { Tensor } from "../engine.ts";
import type { Runner } from "../runner.ts";
import type { ExternalData } from "../../onnx/tensor_data.ts";
import { type DirectGraph, directGraphOf } from "./graph.ts";
import { directKernels, type KernelLibrary } from "./kernels.ts";
import { type DirectProgram, directProgram } from "./program.ts";

/** Input sizes whose programs and workspaces are kept (the least recently used goes). */
const KEPT_SIZES = 4;
/** Workspaces are dropped after this long without a run (ms). */
export const WORKSPACE_IDLE_MS = 500;

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
  #lastRun = 0;
  #inFlight = new Set<readonly unknown[]>();
  #idleTimer?: ReturnType<typeof setTimeout>;

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
    if (
      !input.dims.every((d) => Number.isInteger(d) && d > 0) || input.data.length !== n * c * h * w
    ) {
      throw new Error(
        `input of ${input.data.length} values does not have the shape [${input.dims}]`,
      );
    }
    const size = this.#size(h, w);
    const { program } = size;
    const work = size.free.pop() ?? new Float32Array(program.workFloats);
    const [oc, oh, ow] = program.output;
    // every value is written (unpack), so a pooled one needs no zeroing
    const output = takeTensor(n * oc * oh * ow, false);
    try {
      for (let i = 0; i < n; i++) {
        const src = input.data.subarray(i * c * h * w, (i + 1) * c * h * w);
        const dst = output.subarray(i * oc * oh * ow, (i + 1) * oc * oh * ow);
        const args = [program.code, program.count, work, this.graph.weights, src, dst] as const;
        // held until the foreign call returns (another thread reads them meanwhile)
        this.#inFlight.add(args);
        const status = this.offThread
          ? await this.library.tu_run_off(...args).finally(() => this.#inFlight.delete(args))
          : this.library.tu_run(...args);
        this.#inFlight.delete(args);
        if (status !== 0) throw new Error(`direct kernels refused instruction ${status - 1}`);
      }
    } finally {
      size.free.push(work);
      this.#lastRun = performance.now();
      this.#dropWhenIdle(WORKSPACE_IDLE_MS);
    }
    return { outputs: { [this.graph.outputName]: { data: output, dims: [n, oc, oh, ow] } } };
  }

  /** Workspaces held now (for tests and memory accounting). */
  get workspaces(): number {
    return [...this.#sizes.values()].reduce((n, s) => n + s.free.length, 0);
  }

  #dropWhenIdle(ms: number) {
    if (this.#idleTimer !== undefined) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      const left = this.#lastRun + WORKSPACE_IDLE_MS - performance.now();
      if (left > 0) return this.#dropWhenIdle(left);
      for (const size of this.#sizes.values()) size.free.length = 0;
    }, ms);
    Deno.unrefTimer(this.#idleTimer);
  }

  release(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#sizes.clear();
    return Promise.resolve();
  }
}

/**
 * Reads a model for the direct engine (once per bytes object); throws
 * `UnsupportedGraphError` with the reason.
 */
export function loadDirectRunner(
  model: Uint8Array,
  externalData: { path: string; data: Uint8Array }[],
  kernels: KernelLibrary,
  offThread: boolean,
): DirectRunner {
  const external: ExternalData = new Map(externalData.map((f) => [f.path, f.data]));
  return new DirectRunner(directGraphOf(model, external), kernels, offThread);
}

/** Whether a model will run on the direct kernels (they are there and cover its graph). */
export async function runsDirect(
  model: Uint8Array,
  externalData: { path: string; data: Uint8Array }[],
): Promise<boolean> {
  if (!(await directKernels()).ok) return false;
  try {
    directGraphOf(model, new Map(externalData.map((f) => [f.path, f.data])));
    return true;
  } catch {
    return false; // onnxruntime runs it (and says what is wrong with it, if anything)
  }
}
