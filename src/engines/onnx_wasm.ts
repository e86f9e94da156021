/**
 * The `wasm` engine; runs wherever WebAssembly does. A model the direct engine's kernels
 * cover (every shipped student) runs on their WebAssembly build (`direct/wasm_kernels.ts`:
 * 15 KiB, one thread a run): in engine host Workers with a hang watchdog (`host_session.ts`),
 * a Worker per lane, one lane per core, at most 2 (`TINYUNET_ENGINE_LANES`); where there are
 * no Workers (edge functions), on the calling isolate. Any other model, or every one with
 * `TINYUNET_WASM_KERNELS=onnxruntime`, runs on onnxruntime-web's WASM (SIMD, optional
 * threads) backend in the process's one shared onnxruntime-web host — or, without Workers, on
 * tfjs-wasm (the session says so).
 *
 * @module
 */
import type { Engine, EngineSession, ModelSource, SessionOptions } from "./engine.ts";
import { HostedSession } from "./host_session.ts";
import { defaultLanes, engineSettings } from "./settings.ts";
import { directRunner } from "./direct/runner.ts";
import { directNote, DirectSession } from "./direct/session.ts";
import { wasmKernels } from "./direct/wasm_kernels.ts";

/** Default onnxruntime-web WASM threads: 2 where there are cores, guarded by the warm-up watchdog. */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, 2));
}

const hasWorkers = () => typeof Worker === "function";

/** The direct kernels' WebAssembly build, else onnxruntime-web (tfjs-wasm without Workers). */
export const wasmEngine: Engine = {
  name: "wasm",
  probe() {
    const wasm = typeof WebAssembly === "object";
    return Promise.resolve({
      available: wasm,
      reason: !wasm
        ? "WebAssembly missing"
        : hasWorkers()
        ? "WebAssembly and Workers available"
        : "WebAssembly available, no Workers: runs on the calling thread",
    });
  },
  async createSession(model: ModelSource, options: SessionOptions = {}): Promise<EngineSession> {
    const kernels = options.kernels ?? engineSettings().wasmKernels;
    if (!hasWorkers()) return await withoutWorkers(model, options, kernels);
    let reason = "";
    if (kernels === "direct") {
      try {
        const lanes = options.lanes ?? defaultLanes(1);
        const session = await HostedSession.create(
          "wasm",
          "direct-wasm",
          model,
          { ...options, threads: 1, lanes },
          1,
          { retries: 0 },
        );
        session.notes.push(directNote("wasm", "in engine host Workers", lanes));
        return session;
      } catch (err) {
        reason = (err as Error).message;
      }
    }
    const session = await HostedSession.create(
      "wasm",
      "wasm",
      model,
      options,
      defaultWasmThreads(),
    );
    session.notes.push(kernels === "direct" ? `onnxruntime-web (${reason})` : "onnxruntime-web");
    return session;
  },
};

/** No Workers: the direct kernels on this isolate, else tfjs-wasm (which runs on it too). */
async function withoutWorkers(
  model: ModelSource,
  options: SessionOptions,
  kernels: "direct" | "onnxruntime",
): Promise<EngineSession> {
  let reason = "TINYUNET_WASM_KERNELS=onnxruntime";
  if (kernels === "direct") {
    const direct = await directRunner(model.bytes, model.externalData, wasmKernels);
    if (!("reason" in direct)) {
      return await DirectSession.open(
        direct,
        { engine: "wasm", lanes: 1, offThread: false },
        options.warmup,
      );
    }
    reason = direct.reason;
  }
  const { tfjsWasmEngine } = await import("./tfjs_wasm.ts");
  const session = await tfjsWasmEngine.createSession(model, options);
  session.notes.push(`tfjs-wasm: no Workers for onnxruntime-web (${reason})`);
  return session;
}
