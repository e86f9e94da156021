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
 * Session options for a native session with `threads` intra-op threads. `spin: false`
 * stops its pool threads spinning between runs (a solo session, see `host_session.ts`,
 * shares its cores with the one-thread lanes; ~0.35 ms slower a run than spinning).
 */
export function nativeSessionOptions(threads: number, spin = true) {
  return {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all" as const,
    enableCpuMemArena: engineSettings().nativeArena,
    enableMemPattern: true,
    ...(spin ? {} : { extra: { session: { intra_op: { allow_spinning: "0" } } } }),
  };
}
