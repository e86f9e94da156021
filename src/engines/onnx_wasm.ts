/**
 * The `wasm` engine: onnxruntime-web's WASM (SIMD, optional threads) backend, in a Worker
 * in the process's one shared onnxruntime-web host with a hang watchdog (see `host_session.ts`). Runs wherever WebAssembly does.
 *
 * @module
 */
import type { Engine, EngineSession, ModelSource, SessionOptions } from "./engine.ts";
import { HostedSession } from "./host_session.ts";

/** Default WASM threads: 2 where there are cores, guarded by the warm-up watchdog. */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, 2));
}

/** onnxruntime-web, WASM backend. */
export const wasmEngine: Engine = {
  name: "wasm",
  probe() {
    const ok = typeof WebAssembly === "object" && typeof Worker === "function";
    return Promise.resolve({
      available: ok,
      reason: ok ? "WebAssembly and Workers available" : "WebAssembly or Worker missing",
    });
  },
  createSession(model: ModelSource, options: SessionOptions = {}): Promise<EngineSession> {
    return HostedSession.create("wasm", "wasm", model, options, defaultWasmThreads());
  },
};
