/**
 * Cold start with the native engine's child-process probe (`deno run -A
 * bench/native_probe_cold.ts [starts]`): spawn → ready with the shipped models on `auto`,
 * interleaved side by side for `TINYUNET_NATIVE_PROBE=off` (no probe, the add-on loaded
 * unprobed), `cached` (the default, after one probe on this host) and `always` (a probe
 * child at every start). Prints JSON; the bound is ≤ 500 ms with the cache.
 *
 * @module
 */
import { startServer } from "./server.ts";
import { round, summarize } from "./stats.ts";

const starts = Number(Deno.args[0] ?? 7);
const cache = await Deno.makeTempDir({ prefix: "tinyunet-probe-bench-" });
const modes = ["off", "cached", "always"] as const;
const samples: Record<string, number[]> = { off: [], cached: [], always: [] };
const engines = new Set<string>();
try {
  for (let i = 0; i <= starts; i++) {
    for (const mode of modes) {
      const server = await startServer({
        env: {
          TINYUNET_LOG: "",
          TINYUNET_NATIVE_PROBE: mode,
          TINYUNET_NATIVE_PROBE_CACHE: cache,
          TINYUNET_WATCH: "off",
        },
      });
      await server.stop();
      for (const r of server.runtime as { engine: string }[]) engines.add(`${mode}:${r.engine}`);
      if (i > 0) samples[mode].push(server.ready_ms); // the first round fills caches
    }
  }
} finally {
  await Deno.remove(cache, { recursive: true });
}
console.log(JSON.stringify(
  {
    starts,
    engines: [...engines].sort(),
    ready_ms: Object.fromEntries(modes.map((m) => [m, summarize(samples[m])])),
    samples_ms: Object.fromEntries(modes.map((m) => [m, samples[m].map((v) => round(v, 1))])),
  },
  null,
  2,
));
