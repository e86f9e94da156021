/**
 * The `tfjs-wasm` engine: ONNX U-Nets compiled to @tensorflow/tfjs-core ops on
 * @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD). Its WebAssembly binary is ~0.4 MB against
 * onnxruntime-web's ~14 MB, for hosts that cap bundle size or memory (edge functions).
 * Never auto-picked: choose it with `TINYUNET_ENGINE=tfjs-wasm` or a card's `"engine"`.
 *
 * Runs on the calling thread, single-threaded, one run at a time (the model queue
 * serialises runs; a run is synchronous, so sessions sharing the backend never interleave).
 * Operators: see {@link SUPPORTED_OPS}; anything else fails at load, naming the operator.
 *
 * @example
 * ```ts
 * const session = await tfjsWasmEngine.createSession({ path: "model.onnx", bytes, externalData: [] });
 * const { logits } = await session.run({ image: { data, dims: [1, 3, 256, 256] } });
 * await session.release();
 * ```
 * @module
 */
import type {
  Engine,
  EngineProbe,
  EngineSession,
  ModelSource,
  SessionOptions,
  Tensor,
} from "./engine.ts";
import { warmupTensors } from "./engine.ts";
import { loadTfjs, type TfjsRuntime } from "./tfjs/backend.ts";
import { compileModel, type Program, SUPPORTED_OPS } from "./tfjs/compile.ts";
import { runProgram } from "./tfjs/run_program.ts";

export { SUPPORTED_OPS };

/** A compiled model holding its weights on the shared tfjs backend. */
export class TfjsWasmSession implements EngineSession {
  readonly engine = "tfjs-wasm" as const;
  readonly notes: string[] = [];
  #program: Program | undefined;

  /** Use {@link tfjsWasmEngine}.createSession. */
  constructor(private runtime: TfjsRuntime, program: Program, requestedThreads?: number) {
    this.#program = program;
    const file = runtime.wasmFile.split("/").pop();
    this.notes.push(
      `tfjs-backend-wasm ${runtime.version}, ${file} (${runtime.wasmBytes} bytes), ${runtime.threads} thread(s)`,
    );
    if (requestedThreads && requestedThreads > runtime.threads) {
      this.notes.push(
        `asked for ${requestedThreads} threads; tfjs-backend-wasm runs ${runtime.threads} here`,
      );
    }
  }

  get threads(): number {
    return this.runtime.threads;
  }
  get inputNames(): readonly string[] {
    return this.#program?.inputs.map((i) => i.name) ?? [];
  }
  get outputNames(): readonly string[] {
    return this.#program?.outputs ?? [];
  }

  /** @throws {Error} after release, or on missing/mis-shaped inputs */
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const program = this.#program;
    if (!program) return Promise.reject(new Error("tfjs-wasm session was released"));
    try {
      return Promise.resolve(runProgram(this.runtime.tf, program, feeds));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Frees this session's weights (the shared backend stays up). Idempotent. */
  release(): Promise<void> {
    const program = this.#program;
    this.#program = undefined;
    for (const w of program?.weights ?? []) w.dispose();
    return Promise.resolve();
  }
}

/** tfjs-core on tfjs-backend-wasm. */
export const tfjsWasmEngine: Engine = {
  name: "tfjs-wasm",
  async probe(): Promise<EngineProbe> {
    try {
      const rt = await loadTfjs();
      return {
        available: true,
        reason: `tfjs-backend-wasm ${rt.version} (${
          rt.simd ? "SIMD" : "no SIMD"
        }, ${rt.threads} thread(s))`,
      };
    } catch (err) {
      return {
        available: false,
        reason: `tfjs-backend-wasm cannot start: ${(err as Error)?.message ?? err}`,
      };
    }
  },
  async createSession(model: ModelSource, options: SessionOptions = {}): Promise<EngineSession> {
    const runtime = await loadTfjs();
    const external = new Map(model.externalData.map((e) => [e.path, e.data]));
    const program = compileModel(runtime.tf, model.bytes, external);
    const session = new TfjsWasmSession(runtime, program, options.threads);
    if (options.warmup) {
      try {
        await session.run(warmupTensors(options.warmup));
      } catch (err) {
        await session.release();
        throw err;
      }
    }
    return session;
  },
};
