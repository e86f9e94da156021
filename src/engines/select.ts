/**
 * Engine registry and selection. `auto` tries native → webgpu (hardware adapter only) →
 * wasm; `tfjs-wasm` is never auto-picked. Engines are imported lazily, so a host that
 * cannot load one (no native add-ons on an edge function) never pays for it.
 *
 * @module
 */
import type { Engine, EngineName } from "./engine.ts";
import { ENGINE_NAMES } from "./engine.ts";

/** What a server or model asks for: an engine, or `auto`. */
export type EngineChoice = EngineName | "auto";

/** The engine picked and why, for logs and model metadata. */
export interface EngineSelection {
  engine: Engine;
  reason: string;
  /** whether the choice was explicit (explicit WebGPU may use a software adapter) */
  explicit: boolean;
}

const loaders: Record<EngineName, () => Promise<Engine>> = {
  native: async () => (await import("./onnx_native.ts")).nativeEngine,
  wasm: async () => (await import("./onnx_wasm.ts")).wasmEngine,
  webgpu: async () => (await import("./onnx_webgpu.ts")).webgpuEngine,
  "tfjs-wasm": async () => (await import("./tfjs_wasm.ts")).tfjsWasmEngine,
};

/** Parses an engine choice (e.g. from `TINYUNET_ENGINE`); throws on an unknown name. */
export function parseEngineChoice(value: string | undefined | null): EngineChoice {
  const v = (value ?? "auto").trim().toLowerCase().replace("_", "-");
  if (v === "" || v === "auto") return "auto";
  if ((ENGINE_NAMES as readonly string[]).includes(v)) return v as EngineName;
  throw new Error(`unknown engine "${value}"; expected auto, ${ENGINE_NAMES.join(", ")}`);
}

/** Loads one engine module by name. */
export function loadEngine(name: EngineName): Promise<Engine> {
  return loaders[name]();
}

const autoCache: { value?: Promise<EngineSelection> } = {};

/**
 * Resolves a choice to an engine. An explicit choice must be available (else it throws
 * with the probe's reason); `auto` walks the priority list and says why each was skipped.
 */
export async function selectEngine(choice: EngineChoice): Promise<EngineSelection> {
  if (choice !== "auto") {
    const engine = await loadEngine(choice).catch((err) => {
      throw new Error(`engine ${choice} cannot load: ${(err as Error).message}`);
    });
    const probe = await engine.probe();
    if (!probe.available) throw new Error(`engine ${choice} is not available: ${probe.reason}`);
    return { engine, reason: `chosen explicitly (${probe.reason})`, explicit: true };
  }
  autoCache.value ??= selectAuto();
  return await autoCache.value;
}

async function selectAuto(): Promise<EngineSelection> {
  const skipped: string[] = [];
  for (const name of ["native", "webgpu", "wasm"] as const) {
    let engine: Engine;
    try {
      engine = await loadEngine(name);
    } catch (err) {
      skipped.push(`${name}: ${(err as Error).message}`);
      continue;
    }
    const probe = await engine.probe();
    if (!probe.available) {
      skipped.push(`${name}: ${probe.reason}`);
    } else if (probe.fallbackAdapter) {
      skipped.push(`${name}: ${probe.reason} (not auto-picked)`);
    } else {
      const why = skipped.length ? `; skipped ${skipped.join("; ")}` : "";
      return { engine, reason: `auto: ${probe.reason}${why}`, explicit: false };
    }
  }
  throw new Error(`no engine available: ${skipped.join("; ")}`);
}
