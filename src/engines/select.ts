/**
 * Engine registry and selection. `auto` tries native → webgpu (hardware adapter only) →
 * wasm; `tfjs-wasm` is never auto-picked. Engines are imported lazily, so a host that
 * cannot load one (no native add-ons on an edge function) never pays for it.
 *
 * Before the native add-on is loaded into this process it is probed in a child process
 * (`native_probe/probe.ts`, cached per host + version): if the child crashes, hangs or
 * answers wrong, `auto` moves on to the next engine and says why, and an explicit
 * `native` fails with that reason instead of taking the server down.
 *
 * @module
 */
import type { Engine, EngineName } from "./engine.ts";
import { ENGINE_NAMES } from "./engine.ts";
import { nativeProbe } from "./native_probe/once.ts";
import type { NativeProbeResult } from "./native_probe/probe.ts";

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

function probeNote(result: NativeProbeResult): string {
  return result.cached ? `${result.reason}, cached from ${result.probedAt}` : result.reason;
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
    const checked = choice === "native" ? await nativeProbe() : null;
    if (checked && !checked.ok) {
      throw new Error(`engine native is not available: ${probeNote(checked)}`);
    }
    const engine = await loadEngine(choice).catch((err) => {
      throw new Error(`engine ${choice} cannot load: ${(err as Error).message}`);
    });
    const probe = await engine.probe();
    if (!probe.available) throw new Error(`engine ${choice} is not available: ${probe.reason}`);
    const note = checked ? `; ${probeNote(checked)}` : "";
    return { engine, reason: `chosen explicitly (${probe.reason}${note})`, explicit: true };
  }
  autoCache.value ??= selectAuto();
  return await autoCache.value;
}

async function selectAuto(): Promise<EngineSelection> {
  const skipped: string[] = [];
  let passed = "";
  for (const name of ["native", "webgpu", "wasm"] as const) {
    if (name === "native") {
      const checked = await nativeProbe();
      if (checked && !checked.ok) {
        skipped.push(`native: ${probeNote(checked)}`);
        continue;
      }
      passed = checked ? `; ${probeNote(checked)}` : "";
    }
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
      const note = name === "native" ? passed : "";
      return { engine, reason: `auto: ${probe.reason}${note}${why}`, explicit: false };
    }
  }
  throw new Error(`no engine available: ${skipped.join("; ")}`);
}
