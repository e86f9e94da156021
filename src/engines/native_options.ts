/**
 * onnxruntime-node session options, one set for both places a native session is created:
 * the engine host Worker (`host_worker.ts`, the default) and the event loop
 * (`TINYUNET_NATIVE_HOST=0`, `onnx_native.ts`).
 *
 * onnxruntime's CPU arena stays on by default: it keeps the largest run's activations (a
 * 30 MB V2 tensor leaves ~360 MiB resident; without the arena ~30 MiB), but without it RSS
 * crept up under the 10-minute soak (glibc fragmentation: 459 → 654 MiB, +42 %; with it the
 * soak plateaued at +16 %). Bound large V2 inputs with `TINYUNET_MAX_PIXELS` instead.
 * `TINYUNET_NATIVE_ARENA=0` turns it off: with the four shipped models that measured −24 MiB
 * idle and −37 MiB after c=8 in `deno task bench`, same throughput.
 *
 * @module
 */

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
    enableCpuMemArena: Deno.env.get("TINYUNET_NATIVE_ARENA") !== "0",
    enableMemPattern: true,
    ...(spin ? {} : { extra: { session: { intra_op: { allow_spinning: "0" } } } }),
  };
}
