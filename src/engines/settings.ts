/**
 * The engines' own settings, from environment variables, validated once per isolate that
 * creates sessions (the HTTP isolate; `mod.ts`'s users and the tools without the server's
 * config object). An engine host Worker reads none of them: what it needs (the session's
 * arena, the idle-collection delay) comes in its load message (`host_worker.ts`), so it loads
 * no validation library. `src/config.ts` parses them at start-up as well, so a bad value stops
 * the server with the other settings' errors instead of surfacing at the first model load.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `TINYUNET_NATIVE_HOST` | 1 | 0: native sessions run on the event loop instead of engine host Workers |
 * | `TINYUNET_ENGINE_LANES` | one per core (≤ 2) for one-thread sessions (native, direct kernels), else 1 | copies of a session that may run at once |
 * | `TINYUNET_NATIVE_ARENA` | shared | `shared`: every native session of the process uses one onnxruntime CPU arena, shrunk at the quiet spell after overlapping runs and once a model has been `TINYUNET_LANE_IDLE_MS` without runs (`native_arena.ts`; never with `TINYUNET_NATIVE_HOST=0`; where onnxruntime's C API cannot be reached, as `1`); 1: an arena per session (a kept copy is loaded afresh after `TINYUNET_LANE_IDLE_MS` without runs; with `TINYUNET_NATIVE_HOST=0` or a lane idle time of 0 the arenas stay); 0: off |
 * | `TINYUNET_NATIVE_KERNELS` | direct | `direct`: a model whose graph the direct engine's kernels cover (`direct/graph.ts`: plain U-Nets, every shipped student) runs on them, one thread a run, 2.5-3× onnxruntime's speed; others, and every model where the kernels cannot be built (no C compiler), run on onnxruntime; `onnxruntime`: every model on onnxruntime |
 * | `TINYUNET_SOLO_SPIN` | run | the solo copy's pool threads between kernels: 0 sleep; `run` spin during a run and stop at its end; 1 spin, also after runs |
 * | `TINYUNET_SOLO_LOCAL` | 1 | 1: the native solo copy runs on the HTTP isolate (no Worker hops); 0: in the first lane's engine host Worker |
 * | `TINYUNET_LOCAL_FIRST` | 1 | with a solo copy on the HTTP isolate: 1 load it at start and every lane (Worker) on demand; 0 the first lane at start and the solo copy after the first run |
 * | `TINYUNET_NATIVE_PREWARM` | 1 | with a passing native probe verdict cached by an earlier start, onnxruntime's one-time set-up starts on a background thread at process start (`native_probe/prewarm.ts`); 0: off |
 * | `TINYUNET_WASM_KERNELS` | direct | `direct`: a model the direct engine's kernels cover runs on their WebAssembly build (`direct/wasm_kernels.ts`), one thread a run, in engine host Workers (one per lane); others on onnxruntime-web; `onnxruntime`: every model on onnxruntime-web |
 * | `TINYUNET_WASM_ARENA` | 0 | 1: wasm sessions keep their own arenas (they share one heap) |
 * | `TINYUNET_WEB_HANG_TIMEOUT_MS` | 30000 | a run longer than this counts as hung (engine host restarted) |
 * | `TINYUNET_WEB_LOAD_TIMEOUT_MS` | 120000 | longest engine host start + session load |
 *
 * @module
 */
import { z } from "zod";
import { int, oneOf, parseVariables } from "../env_vars.ts";
import { idleGcMs } from "../memory/idle_gc_setting.ts";
import type { HostBackend, LoadMessage } from "./host_worker.ts";
import type { ArenaChoice } from "./native_options.ts";

const EngineEnv = z.object({
  TINYUNET_NATIVE_HOST: oneOf(["1", "0"], "1"),
  TINYUNET_ENGINE_LANES: int(undefined),
  TINYUNET_NATIVE_ARENA: oneOf(["0", "1", "shared"], "shared"),
  TINYUNET_NATIVE_KERNELS: oneOf(["direct", "onnxruntime"], "direct"),
  TINYUNET_SOLO_SPIN: oneOf(["0", "run", "1"], "run"),
  TINYUNET_SOLO_LOCAL: oneOf(["0", "1"], "1"),
  TINYUNET_LOCAL_FIRST: oneOf(["0", "1"], "1"),
  TINYUNET_NATIVE_PREWARM: oneOf(["0", "1"], "1"),
  TINYUNET_WASM_KERNELS: oneOf(["direct", "onnxruntime"], "direct"),
  TINYUNET_WASM_ARENA: oneOf(["0", "1"], "0"),
  TINYUNET_WEB_HANG_TIMEOUT_MS: int(30_000, 1000),
  TINYUNET_WEB_LOAD_TIMEOUT_MS: int(120_000, 1000),
}).transform((e) => ({
  nativeInHost: e.TINYUNET_NATIVE_HOST === "1",
  /** unset: the engine's default (see defaultLanes below) */
  lanes: e.TINYUNET_ENGINE_LANES,
  nativeArena: ({ "0": "off", "1": "own", shared: "shared" } as const)[e.TINYUNET_NATIVE_ARENA],
  nativeKernels: e.TINYUNET_NATIVE_KERNELS,
  soloSpin: ({ "0": "off", run: "run", "1": "always" } as const)[e.TINYUNET_SOLO_SPIN],
  soloLocal: e.TINYUNET_SOLO_LOCAL === "1",
  localFirst: e.TINYUNET_SOLO_LOCAL === "1" && e.TINYUNET_LOCAL_FIRST === "1",
  nativePrewarm: e.TINYUNET_NATIVE_PREWARM === "1",
  wasmKernels: e.TINYUNET_WASM_KERNELS,
  wasmArena: e.TINYUNET_WASM_ARENA === "1",
  hangTimeoutMs: e.TINYUNET_WEB_HANG_TIMEOUT_MS,
  loadTimeoutMs: e.TINYUNET_WEB_LOAD_TIMEOUT_MS,
}));

/** Validated engine settings. */
export type EngineSettings = z.output<typeof EngineEnv>;

/**
 * Parses engine settings from `env`.
 * @throws {Error} naming each variable with a bad value
 */
export function parseEngineSettings(env: Record<string, string | undefined>): EngineSettings {
  return parseVariables(EngineEnv, env);
}

let cached: EngineSettings | undefined;

/** This isolate's engine settings (from its environment, read once). */
export function engineSettings(): EngineSettings {
  cached ??= parseEngineSettings(globalThis.Deno?.env.toObject() ?? {});
  return cached;
}

/**
 * What an engine host Worker is given with each load, since it reads no settings itself: the
 * session's CPU arena (native: `TINYUNET_NATIVE_ARENA`, `shared` only once the process's
 * shared arena is registered (`sharedArena`), else an arena of its own; wasm and webgpu:
 * `TINYUNET_WASM_ARENA`) and the host's idle-collection delay.
 */
export function hostLoadSettings(
  backend: HostBackend,
  sharedArena: boolean,
  settings: EngineSettings = engineSettings(),
  idleMs: number = idleGcMs(),
): Pick<LoadMessage, "arena" | "idleGcMs"> {
  return {
    arena: backend === "native"
      ? sessionArena(settings.nativeArena, sharedArena)
      : settings.wasmArena
      ? "own"
      : "off",
    idleGcMs: idleMs,
  };
}

/** A native session's arena: `shared` asked for and registered, else its own (or none). */
export function sessionArena(
  setting: EngineSettings["nativeArena"],
  sharedArena: boolean,
): ArenaChoice {
  return setting === "shared" ? (sharedArena ? "shared" : "own") : setting;
}

/**
 * Engine lanes of a session: `TINYUNET_ENGINE_LANES`, else one per core (≤ 2) for a
 * one-thread session (a small model: two runs at once on two cores beat one run on two
 * threads) and 1 for a multi-threaded one (it already uses the cores). Lanes past the first
 * load only when a run finds the others busy.
 */
export function defaultLanes(threads: number): number {
  const lanes = engineSettings().lanes;
  if (lanes !== undefined) return lanes;
  return threads > 1 ? 1 : Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, 2));
}
