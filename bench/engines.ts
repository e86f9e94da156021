/**
 * The engine configurations the benchmark compares, and how it opens sessions on them: the
 * `native` engine as served (`native-Nt`: the direct kernels for graphs they cover, one
 * thread a run, at N ≥ 2 two for a run that starts alone, else onnxruntime-node with N threads), onnxruntime-node alone
 * (`onnxruntime-Nt`, side by side), the `wasm` engine as served (`wasm-Nt`: the direct
 * kernels' WebAssembly build, one thread a run, else onnxruntime-web with N threads) and
 * onnxruntime-web WASM alone (`onnxruntime-web-Nt`), onnxruntime-web WebGPU when an adapter exists (labelled "software" on a fallback
 * adapter such as llvmpipe, whose timings are of a CPU rasteriser), and `tfjs-wasm` when
 * `loadEngine("tfjs-wasm")` succeeds. All are the serving engines from `src/engines/`.
 *
 * @module
 */
import type {
  EngineName,
  EngineProbe,
  EngineSession,
  ModelSource,
  Tensor,
} from "../src/engines/engine.ts";
import { loadEngine } from "../src/engines/select.ts";
import { seededRandom } from "../lib/onnx_builder.ts";

/** One engine at one thread count. */
export interface EngineConfig {
  id: string;
  engine: EngineName;
  threads: number;
  label: string;
  available: boolean;
  /** the probe's reason (or why it was skipped) */
  reason: string;
  /** WebGPU on a software adapter */
  software?: boolean;
  /** native and wasm: what runs the model (`SessionOptions.kernels`) */
  kernels?: "direct" | "onnxruntime";
}

/** Options of {@link engineConfigs}. */
export interface EngineListOptions {
  /** include WebGPU (slow first run on a software adapter) */
  webgpu: boolean;
  /** include tfjs-wasm */
  tfjs: boolean;
  threads: number[];
}

/** Probes every engine and lists the configurations to time (unavailable ones included, with why). */
export async function engineConfigs(options: EngineListOptions): Promise<EngineConfig[]> {
  const out: EngineConfig[] = [];
  const probe = async (name: EngineName) => {
    try {
      return await (await loadEngine(name)).probe();
    } catch (err) {
      return {
        available: false,
        reason: `cannot load: ${(err as Error).message}`,
        fallbackAdapter: false,
      };
    }
  };
  const threads = (t: number) => `${t} thread${t > 1 ? "s" : ""}`;
  const perThreads = (
    id: string,
    p: EngineProbe,
    label: (t: number) => string,
    more: Pick<EngineConfig, "engine" | "kernels">,
  ) => {
    for (const t of options.threads) {
      out.push({
        id: `${id}-${t}t`,
        threads: t,
        label: label(t),
        available: p.available,
        reason: p.reason,
        ...more,
      });
    }
  };
  const native = await probe("native");
  perThreads(
    "native",
    native,
    (t) =>
      `native as served: direct kernels (1 thread a run${
        t > 1 ? "; a run alone on 2" : ""
      }), else onnxruntime-node ${threads(t)}`,
    {
      engine: "native",
      kernels: "direct",
    },
  );
  perThreads("onnxruntime", native, (t) => `onnxruntime-node CPU, ${threads(t)}`, {
    engine: "native",
    kernels: "onnxruntime",
  });
  const wasm = await probe("wasm");
  perThreads(
    "wasm",
    wasm,
    (t) =>
      `wasm as served: direct kernels' WebAssembly (1 thread), else onnxruntime-web ${threads(t)}`,
    { engine: "wasm", kernels: "direct" },
  );
  perThreads("onnxruntime-web", wasm, (t) => `onnxruntime-web WASM, ${threads(t)}`, {
    engine: "wasm",
    kernels: "onnxruntime",
  });
  if (options.webgpu) {
    const p = await probe("webgpu");
    const software = Boolean(p.fallbackAdapter);
    out.push({
      id: "webgpu",
      engine: "webgpu",
      threads: 1,
      label: software
        ? "onnxruntime-web WebGPU on a SOFTWARE adapter (CPU rasteriser)"
        : "onnxruntime-web WebGPU",
      available: p.available,
      reason: p.reason,
      software,
    });
  } else {
    out.push({
      id: "webgpu",
      engine: "webgpu",
      threads: 1,
      label: "onnxruntime-web WebGPU",
      available: false,
      reason: "skipped (--quick or --no-webgpu)",
    });
  }
  if (options.tfjs) {
    const p = await probe("tfjs-wasm");
    out.push({
      id: "tfjs-wasm",
      engine: "tfjs-wasm",
      threads: 1,
      label: "tfjs-core on tfjs-backend-wasm (1 thread)",
      available: p.available,
      reason: p.reason,
    });
  } else {
    out.push({
      id: "tfjs-wasm",
      engine: "tfjs-wasm",
      threads: 1,
      label: "tfjs-backend-wasm",
      available: false,
      reason: "skipped (--no-tfjs)",
    });
  }
  return out;
}

/** A deterministic NCHW float input in [-1, 1). */
export function randomInput(name: string, dims: number[], seed = 1): Record<string, Tensor> {
  const rnd = seededRandom(seed);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rnd() * 2 - 1;
  return { [name]: { data, dims } };
}

/**
 * Opens a session of a model on a configuration. The engine's own warm-up (under its hang
 * watchdog, which restarts a WASM worker whose threaded first run hangs) uses a small
 * `warmup` input so that a hang is caught quickly; the caller warms up at full size.
 */
export async function openSession(
  cfg: EngineConfig,
  source: ModelSource,
  warmup: { name: string; dims: number[] },
  hangTimeoutMs: number,
): Promise<EngineSession> {
  const engine = await loadEngine(cfg.engine);
  return await engine.createSession(source, {
    threads: cfg.threads,
    warmup: randomInput(warmup.name, warmup.dims, 2),
    hangTimeoutMs,
    allowFallbackAdapter: true,
    kernels: cfg.kernels,
  });
}
