/**
 * Memory figures for leak checks: the V8 heap plus external (ArrayBuffer) memory measured
 * right after a full garbage collection, so garbage not yet collected does not count.
 * `gc()` is reached through `node:v8`'s flag switch, so no `--v8-flags` are needed.
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/**
 * Live JS memory (heap used + external), in MiB, after collecting garbage. Finalizers
 * (FinalizationRegistry, which Deno's AbortSignal and Request bookkeeping rely on) run
 * after a collection, on later ticks, so it collects, yields, and collects again.
 */
export async function liveMemoryMb(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  gc();
  const m = Deno.memoryUsage();
  return (m.heapUsed + m.external) / 2 ** 20;
}

/** Resident set size in MiB (includes native memory and heap not yet returned). */
export function rssMb(): number {
  return Deno.memoryUsage().rss / 2 ** 20;
}
