/**
 * The `webgpu` engine: onnxruntime-web's WebGPU backend, in a Worker. Auto-selection only
 * takes a hardware adapter; a software (fallback) adapter such as llvmpipe is used only when
 * chosen explicitly (that is how tests exercise this path on machines without a GPU).
 *
 * @module
 */
import type { Engine, EngineProbe, EngineSession, ModelSource, SessionOptions } from "./engine.ts";
import { HostedSession } from "./host_session.ts";

interface AdapterLike {
  isFallbackAdapter?: boolean;
  info?: { isFallbackAdapter?: boolean; description?: string; vendor?: string; device?: string };
}

/** Asks `navigator.gpu` for an adapter and reports whether it is a software one. */
export async function probeWebGpu(): Promise<EngineProbe> {
  const gpu =
    (navigator as unknown as { gpu?: { requestAdapter(): Promise<AdapterLike | null> } }).gpu;
  if (!gpu) return { available: false, reason: "navigator.gpu is not available" };
  let adapter: AdapterLike | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (err) {
    return { available: false, reason: `requestAdapter failed: ${(err as Error).message}` };
  }
  if (!adapter) return { available: false, reason: "no WebGPU adapter" };
  const fallback = Boolean(adapter.isFallbackAdapter ?? adapter.info?.isFallbackAdapter);
  const name = adapter.info?.description || adapter.info?.device || adapter.info?.vendor ||
    "unknown adapter";
  return {
    available: true,
    fallbackAdapter: fallback,
    reason: `${fallback ? "software (fallback)" : "hardware"} adapter: ${name}`,
  };
}

/** onnxruntime-web, WebGPU backend. */
export const webgpuEngine: Engine = {
  name: "webgpu",
  probe: probeWebGpu,
  async createSession(model: ModelSource, options: SessionOptions = {}): Promise<EngineSession> {
    const probe = await probeWebGpu();
    if (!probe.available) throw new Error(`webgpu engine unavailable: ${probe.reason}`);
    if (probe.fallbackAdapter && !options.allowFallbackAdapter) {
      throw new Error(`webgpu engine refused: ${probe.reason}`);
    }
    // A software adapter compiles shaders slowly: give the warm-up more time.
    const hangTimeoutMs = options.hangTimeoutMs ?? (probe.fallbackAdapter ? 180_000 : 60_000);
    const session = await HostedSession.create(
      "webgpu",
      "webgpu",
      model,
      { ...options, hangTimeoutMs },
      1,
      { retries: 0 },
    );
    session.notes.push(probe.reason);
    return session;
  },
};
