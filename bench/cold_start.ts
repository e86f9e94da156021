/**
 * Cold start: process spawn (`deno task serve`'s command) → first 200 from
 * `/v2/health/ready` (polled every 5 ms), over several starts; the median is reported. One
 * extra start first is excluded (it fills Deno's module cache after a code change), and
 * its time is kept for reference. Also the server's own "ready" log time (module load →
 * models warm) and the RSS once ready.
 *
 * @module
 */
import { startServer } from "./server.ts";
import { progress } from "./progress.ts";
import { round, summarize } from "./stats.ts";
import { procMemory } from "./memory.ts";

/** Cold-start figures. */
export interface ColdStart {
  starts: number;
  excluded_first_ms: number;
  ready_ms: ReturnType<typeof summarize>;
  samples_ms: number[];
  logged_ready_ms: number[];
  rss_at_ready_mib: number[];
}

/** Starts and stops the server `starts` (+1) times. */
export async function coldStart(starts: number): Promise<ColdStart> {
  const samples: number[] = [];
  const logged: number[] = [];
  const rss: number[] = [];
  let first = NaN;
  for (let i = 0; i <= starts; i++) {
    const server = await startServer();
    const mem = procMemory(server.pid);
    await server.stop();
    if (i === 0) {
      first = round(server.ready_ms, 1);
      progress(`cold start: first (excluded) ${first} ms`);
      continue;
    }
    samples.push(server.ready_ms);
    if (server.logged_ready_ms !== null) logged.push(server.logged_ready_ms);
    if (mem.rss_mib !== null) rss.push(mem.rss_mib);
    progress(`cold start ${i}/${starts}: ${server.ready_ms.toFixed(1)} ms`);
  }
  return {
    starts,
    excluded_first_ms: first,
    ready_ms: summarize(samples),
    samples_ms: samples.map((s) => round(s, 1)),
    logged_ready_ms: logged,
    rss_at_ready_mib: rss,
  };
}
