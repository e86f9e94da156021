/**
 * Cold start: process spawn → first 200 from `/v2/health/ready` (polled every 5 ms), over
 * several starts of two commands taken in turn, each the median of its starts:
 *
 * - **deployed**: the container's entrypoint (which the systemd unit repeats; the offline
 *   bundle's launcher shares its `--cached-only --node-modules-dir=manual`, packages installed
 *   at build time) — what an edge box restarts; the goal is checked on it;
 * - **serve**: `deno task serve`'s command (`nodeModulesDir: "auto"`, so a fresh clone installs
 *   its packages on the first start; every start then re-checks them: ~140 ms in a probe of
 *   alternating starts here, 74 ms between the medians of the 2026-12-01 22:31 UTC run).
 *
 * Same settings otherwise (the bench's defaults; the deployed command's one writable path and
 * its native probe cache are a temporary folder). One extra start of each first is excluded
 * (it fills Deno's module cache after a code change, and the deployed command's probe cache),
 * and its time is kept for reference. Also the server's own "ready" log time (module load →
 * models warm) and the RSS once ready.
 *
 * @module
 */
import { deployedArgs, serveArgs } from "../lib/serve_command.ts";
import { deployedStart, type StartOptions, startServer } from "./server.ts";
import { progress } from "./progress.ts";
import { round, summarize } from "./stats.ts";
import { procMemory } from "./memory.ts";

/** One command's starts. */
export interface CommandStarts {
  /** the deno arguments after `deno` (absent in results from before 2026-12-01) */
  command?: string[];
  excluded_first_ms: number;
  ready_ms: ReturnType<typeof summarize>;
  samples_ms: number[];
  logged_ready_ms: number[];
  rss_at_ready_mib: number[];
}

/** Cold-start figures: the deployed command's at the top level (the goal's), and serve's. */
export interface ColdStart extends CommandStarts {
  starts: number;
  /** `deno task serve`'s command, started in turn with the deployed one (absent in results
   * from before 2026-12-01, whose top-level figures are serve's) */
  serve?: CommandStarts;
}

/** Starts and stops the server `starts` (+1) times with each command, in turn. */
export async function coldStart(starts: number): Promise<ColdStart> {
  const state = await Deno.makeTempDir({ prefix: "tinyunet-bench-cold-" });
  try {
    const variants: { name: string; options: StartOptions }[] = [
      { name: "deployed", options: deployedStart(state) },
      { name: "serve", options: {} },
    ];
    const runs = variants.map(() => ({
      first: NaN,
      samples: [] as number[],
      logged: [] as number[],
      rss: [] as number[],
    }));
    for (let i = 0; i <= starts; i++) {
      for (const [k, v] of variants.entries()) {
        const server = await startServer(v.options);
        const mem = procMemory(server.pid);
        await server.stop();
        const run = runs[k];
        if (i === 0) {
          run.first = round(server.ready_ms, 1);
          progress(`cold start (${v.name}): first (excluded) ${run.first} ms`);
          continue;
        }
        run.samples.push(server.ready_ms);
        if (server.logged_ready_ms !== null) run.logged.push(server.logged_ready_ms);
        if (mem.rss_mib !== null) run.rss.push(mem.rss_mib);
        progress(`cold start ${i}/${starts} (${v.name}): ${server.ready_ms.toFixed(1)} ms`);
      }
    }
    const figures = (k: number, command: string[]): CommandStarts => ({
      command,
      excluded_first_ms: runs[k].first,
      ready_ms: summarize(runs[k].samples),
      samples_ms: runs[k].samples.map((s) => round(s, 1)),
      logged_ready_ms: runs[k].logged,
      rss_at_ready_mib: runs[k].rss,
    });
    return {
      starts,
      ...figures(0, deployedArgs("<temporary folder>")),
      serve: figures(1, serveArgs()),
    };
  } finally {
    await Deno.remove(state, { recursive: true }).catch(() => {});
  }
}
