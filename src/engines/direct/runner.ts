/**
 * A model on the direct engine: its graph read once, a program and workspaces per input size,
 * a whole run in one call into a build of `kernels.c` — the native library (`kernels.ts`,
 * served by `session.ts`) or the WebAssembly one (`wasm_kernels.ts`, in the wasm engine's
 * Workers, or without Workers on the calling isolate). One thread a run; runs that overlap
 * get workspaces of their own. Workspaces (~4 MiB for a 256×192 image) are dropped once no run
 * has come for {@link WORKSPACE_IDLE_MS}, before the isolate's idle collection
 * (`TINYUNET_IDLE_GC_MS`, 1 s) gives their memory back: held through a burst, not after it.
 *
 * @module
 */
import { takeTensor } from "../../memory/tensor_pool.ts";
import { IdleCollector } from "../../memory/collect.ts";
import type { Tensor } from "../engine.ts";
import type { ExternalData } from "../../onnx/tensor_data.ts";
import { type DirectGraph, directGraph } from "./graph.ts";
import { type DirectProgram, directProgram } from "./program.ts";

/** Input sizes whose programs and workspaces are kept (the least recently used goes). */
const KEPT_SIZES = 4;
/** Workspaces are dropped after this long without a run (ms). */
export const WORKSPACE_IDLE_MS = 500;

/** One program's workspace in a kernel build: runs the program on one image at a time. */
export interface KernelWorkspace {
  /** 0, or 1 + the index of an instruction the kernels refused */
  run(input: Float32Array, output: Float32Array): number | Promise<number>;
}

/** A build of `kernels.c` that programs run on. */
export interface DirectKernels {
  /** a workspace for `program` with the model's `weights` */
  workspace(program: DirectProgram, weights: Float32Array): KernelWorkspace;
}

/** A kernel build, or why there is none here. */
export type KernelsChoice = { ok: true; kernels: DirectKernels } | { ok: false; reason: string };

interface Size {
  program: DirectProgram;
  /** workspaces not in use */
  free: KernelWorkspace[];
}

/** Runs a direct graph on a kernel build. */
export class DirectRunner {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  #sizes = new Map<string, Size>();
  #idle = new IdleCollector(WORKSPACE_IDLE_MS, () => {
    for (const size of this.#sizes.values()) size.free.length = 0;
  });

  constructor(readonly graph: DirectGraph, private kernels: DirectKernels) {
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
    const work = size.free.pop() ?? this.kernels.workspace(program, this.graph.weights);
    const [oc, oh, ow] = program.output;
    // every value is written (unpack), so a pooled one needs no zeroing
    const output = takeTensor(n * oc * oh * ow, false);
    try {
      for (let i = 0; i < n; i++) {
        const src = input.data.subarray(i * c * h * w, (i + 1) * c * h * w);
        const dst = output.subarray(i * oc * oh * ow, (i + 1) * oc * oh * ow);
        const status = await work.run(src, dst);
        if (status !== 0) throw new Error(`direct kernels refused instruction ${status - 1}`);
      }
    } finally {
      size.free.push(work);
      this.#idle.touch();
    }
    return { outputs: { [this.graph.outputName]: { data: output, dims: [n, oc, oh, ow] } } };
  }

  /** Workspaces held now (for tests and memory accounting). */
  get workspaces(): number {
    return [...this.#sizes.values()].reduce((n, s) => n + s.free.length, 0);
  }

  release(): Promise<void> {
    this.#idle.stop();
    this.#sizes.clear();
    return Promise.resolve();
  }
}

/**
 * The model on a kernel build, or why not (no build here; a graph the kernels do not cover or
 * cannot read: onnxruntime runs it and says what is wrong with it, if anything).
 * @param kernels the build (`nativeKernels` in kernels.ts, `wasmKernels` in wasm_kernels.ts)
 */
export async function directRunner(
  model: Uint8Array,
  externalData: { path: string; data: Uint8Array }[],
  kernels: () => Promise<KernelsChoice>,
): Promise<DirectRunner | { reason: string }> {
  const build = await kernels();
  if (!build.ok) return { reason: `no direct kernels: ${build.reason}` };
  try {
    const external: ExternalData = new Map(externalData.map((f) => [f.path, f.data]));
    return new DirectRunner(directGraph(model, external), build.kernels);
  } catch (err) {
    return { reason: `not the direct kernels: ${(err as Error).message}` };
  }
}
