/**
 * The `native` engine: onnxruntime-node's CPU execution provider. Fastest where the host
 * allows native add-ons (4-6× onnxruntime-web here); runs off the JS thread.
 *
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

type Ort = typeof import("onnxruntime-node");
let ortPromise: Promise<Ort> | undefined;

/** Loads onnxruntime-node once; rejects where the native binding cannot load. */
function loadOrt(): Promise<Ort> {
  ortPromise ??= import("onnxruntime-node");
  return ortPromise;
}

function defaultThreads(): number {
  return Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, 8));
}

class NativeSession implements EngineSession {
  readonly engine = "native" as const;
  readonly notes: string[] = [];
  constructor(
    private ort: Ort,
    private session: import("onnxruntime-node").InferenceSession,
    readonly threads: number,
  ) {}
  get inputNames() {
    return this.session.inputNames;
  }
  get outputNames() {
    return this.session.outputNames;
  }
  async run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const input: Record<string, import("onnxruntime-node").Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      input[name] = new this.ort.Tensor("float32", t.data, t.dims);
    }
    const out = await this.session.run(input);
    const result: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(out)) {
      result[name] = { data: t.data as Float32Array, dims: [...t.dims] };
      t.dispose?.();
    }
    return result;
  }
  async release() {
    await this.session.release();
  }
}

/** onnxruntime-node, CPU execution provider. */
export const nativeEngine: Engine = {
  name: "native",
  async probe(): Promise<EngineProbe> {
    try {
      const ort = await loadOrt();
      return { available: true, reason: `onnxruntime-node ${ort.env.versions?.node ?? ""} loaded` };
    } catch (err) {
      return {
        available: false,
        reason: `onnxruntime-node cannot load: ${(err as Error).message}`,
      };
    }
  },
  async createSession(model: ModelSource, options: SessionOptions = {}): Promise<EngineSession> {
    const ort = await loadOrt();
    const threads = options.threads ?? defaultThreads();
    const sessionOptions = {
      executionProviders: ["cpu"],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all" as const,
      // onnxruntime's CPU arena stays on: it keeps the largest run's activations (a 30 MB V2
      // tensor leaves ~360 MiB resident; without the arena ~30 MiB), but without it RSS crept
      // up under the 10-minute soak (glibc fragmentation: 459 → 654 MiB, +42 %; with it the
      // soak plateaued at +16 %). Bound large V2 inputs with TINYUNET_MAX_PIXELS instead.
      enableCpuMemArena: true,
      enableMemPattern: true,
    };
    // A path lets onnxruntime resolve external data beside the model itself.
    const session = model.externalData.length > 0
      ? await ort.InferenceSession.create(model.path, sessionOptions)
      : await ort.InferenceSession.create(model.bytes, sessionOptions);
    const native = new NativeSession(ort, session, threads);
    if (options.warmup) await native.run(options.warmup);
    return native;
  },
};
