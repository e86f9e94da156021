/**
 * onnxruntime-node session options, one set for both places a native session is created:
 * the engine host Worker (`host_worker.ts`, the default) and the event loop
 * (`TINYUNET_NATIVE_HOST=0`, `onnx_native.ts`).
 *
 * onnxruntime's CPU arena is on (`TINYUNET_NATIVE_ARENA=0` turns it off): without it every
 * run's activations went back to glibc, which handed many of them to the system between
 * requests, and the next run faulted them in again (~15 µs a 4-KiB page on the project's VM):
 * one request every 0.3 s to the ISBI student at 512² took 55-226 ms of inference against
 * 26-52 with the arena (the ISIC one at 256×192 12-53 against 6-29), ~10 k page faults each.
 * What bounds the arena: no run is larger than `TINYUNET_TILE_PIXELS` (512², engines/tiles.ts;
 * before tiling a 30 MB V2 tensor left +460 MiB in it), warm-ups are small
 * (models/model_version.ts `warmupDims`), an idle lane's Worker ends with its sessions, and the
 * copy kept for a session's life is loaded afresh once idle as long (`host_session.ts`).
 *
 * @module
 */
import { engineSettings } from "./settings.ts";

/**
 * What a session's intra-op pool threads do between kernels: sleep (`off`), spin while a run
 * lasts and stop at its end (`run`: onnxruntime's `session.force_spinning_stop`), or spin
 * on after it as well (`always`, onnxruntime's default).
 */
export type SpinMode = "off" | "run" | "always";

/**
 * Session options for a native session with `threads` intra-op threads and pool threads
 * that `spin` (a solo session, see `host_session.ts`, shares its cores with the one-thread
 * lanes, so it does not spin by default).
 */
export function nativeSessionOptions(threads: number, spin: SpinMode = "always") {
  return {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all" as const,
    enableCpuMemArena: engineSettings().nativeArena,
    enableMemPattern: true,
    ...SPIN_OPTIONS[spin],
  };
}

const SPIN_OPTIONS = {
  off: { extra: { session: { intra_op: { allow_spinning: "0" } } } },
  run: { extra: { session: { intra_op: { allow_spinning: "1" }, force_spinning_stop: "1" } } },
  always: {},
} as const;
