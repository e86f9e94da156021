/**
 * onnxruntime-node session options, one set for both places a native session is created:
 * the engine host Worker (`host_worker.ts`, the default) and the event loop
 * (`TINYUNET_NATIVE_HOST=0`, `onnx_native.ts`).
 *
 * onnxruntime's CPU arena is off by default. With it on, each session kept its largest
 * run's activations for good (~9 MiB per shipped model after its 256² warm-up; a 30 MB V2
 * tensor left ~+460 MiB resident). Without it those buffers go back to glibc, and the
 * allocator keeper (`src/memory/keeper.ts`: a fixed mmap threshold, `malloc_trim` when
 * freed memory piles up) hands them to the system; that also stopped the creep that once
 * made the arena the default (the 10-minute soak with the arena off and no keeper: 459 →
 * 654 MiB, +42 %; with the keeper: 518 → 435 MiB, −16 %). Measured with the four shipped
 * models: idle 214 → 156 MiB, after c=8 325 → 271 MiB, same throughput.
 * `TINYUNET_NATIVE_ARENA=1` turns it on.
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
