/**
 * onnxruntime-node session options, one set for both places a native session is created:
 * the engine host Worker (`host_worker.ts`, the default) and the event loop
 * (`TINYUNET_NATIVE_HOST=0`, `onnx_native.ts`).
 *
 * onnxruntime's CPU arena is on (`TINYUNET_NATIVE_ARENA=0` turns it off): without it every
 * run's activations went back to glibc, which handed many of them to the system between
 * requests, and the next run faulted them in again (~15 µs a 4-KiB page on the project's VM):
 * ten requests 0.3 s apart to the ISBI student at 512², 27.1 ms of inference median with the
 * arena against 190.5 without, 936 page faults a request against 20,785; the ISIC one at
 * 256×192 8.5 against 11.6 (`deno task bench` part sparse, 2026-12-01 22:52 UTC). Only while
 * requests come closer than `TINYUNET_LANE_IDLE_MS`: after a longer pause the copy has been
 * renewed and the next run sizes a fresh arena (107-125 ms for ISBI, 21-22 for ISIC).
 * By default the arena is the process's shared one (`native_arena.ts`,
 * `session.use_env_allocators`), which holds what runs at once instead of every copy's peak.
 * What bounds it: no run is larger than `TINYUNET_TILE_PIXELS` (512², engines/tiles.ts;
 * before tiling a 30 MB V2 tensor left +460 MiB in it), warm-ups are small
 * (models/model_version.ts `warmupDims`), an idle lane's Worker ends with its sessions, and
 * once the copy kept for a session's life has been idle `TINYUNET_LANE_IDLE_MS` the shared arena
 * is shrunk, or an arena of the session's own is dropped by loading the copy afresh
 * (`host_session.ts`; neither with `TINYUNET_LANE_IDLE_MS=0` or `TINYUNET_NATIVE_HOST=0`).
 *
 * @module
 */
/**
 * What a session's intra-op pool threads do between kernels: sleep (`off`), spin while a run
 * lasts and stop at its end (`run`: onnxruntime's `session.force_spinning_stop`), or spin
 * on after it as well (`always`, onnxruntime's default).
 */
export type SpinMode = "off" | "run" | "always";

/**
 * Session options for a native session with `threads` intra-op threads, onnxruntime's CPU
 * arena off, its own or shared (`TINYUNET_NATIVE_ARENA`, resolved by the isolate that asks: an
 * engine host Worker is given it and loads no settings schema) and pool threads that `spin` (a solo
 * session, see `host_session.ts`, shares its cores with the one-thread lanes, so it does not
 * spin by default).
 */
export function nativeSessionOptions(
  threads: number,
  arena: ArenaChoice,
  spin: SpinMode = "always",
) {
  const spinning = SPIN_OPTIONS[spin].extra?.session ?? {};
  return {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all" as const,
    enableCpuMemArena: arena !== "off",
    // no memory pattern (one block planned for all of a shape's activations): that block is
    // what a session's arena holds after its runs, and engine lanes are held for
    // TINYUNET_LANE_IDLE_MS; the runs are as fast without it (isolated runs, and req/s at c=8)
    enableMemPattern: false,
    extra: {
      session: {
        ...spinning,
        // the process's one arena (native_arena.ts) instead of one of the session's own
        ...(arena === "shared" ? { use_env_allocators: "1" } : {}),
      },
    },
  };
}

/**
 * A native session's CPU arena: none, its own, or the process's shared one (`native_arena.ts`;
 * `TINYUNET_NATIVE_ARENA`).
 */
export type ArenaChoice = "off" | "own" | "shared";

const SPIN_OPTIONS: Record<SpinMode, { extra?: { session: Record<string, unknown> } }> = {
  off: { extra: { session: { intra_op: { allow_spinning: "0" } } } },
  run: { extra: { session: { intra_op: { allow_spinning: "1" }, force_spinning_stop: "1" } } },
  always: {},
};
