/**
 * HTTP under load: autocannon (npm, run in the benchmark process) against the real server
 * on loopback, POSTing a real 256-px PNG to `/v1/segment` (PNG mask back, the route's
 * default) at several concurrency levels. Each level gets a warm-up run at the same
 * concurrency (excluded), then a timed run. Latency percentiles are computed from every
 * response's exact time (autocannon's per-response event; its own histogram rounds to
 * whole ms) over 2xx responses; non-2xx are counted by status, 503s separately, plus
 * socket errors and timeouts. Server RSS (VmRSS) is read after each level.
 *
 * The load generator shares the machine's cores with the server: the throughput is that
 * of server + client on these cores.
 *
 * @module
 */
import autocannon from "autocannon";
import { Buffer } from "node:buffer";
import type { ServerProcess } from "./server.ts";
import { serverMemory } from "./server.ts";
import { progress } from "./progress.ts";
import { loadSample } from "./machine.ts";
import { percentile, round } from "./stats.ts";

/** One concurrency level. */
export interface LoadLevel {
  connections: number;
  duration_s: number;
  warmup_s: number;
  responses: number;
  ok_2xx: number;
  /** responses that were not 2xx (503 included) */
  non_2xx: number;
  http_503: number;
  status_counts: Record<string, number>;
  /** socket errors (incl. timeouts) */
  errors: number;
  timeouts: number;
  /** 2xx responses per second */
  throughput_rps: number;
  latency_ms: { n: number; p50: number; p90: number; p99: number; max: number; mean: number };
  rss_after_mib: number | null;
  loadavg_at_start: number[];
}

/** Settings of {@link httpLoad}. */
export interface LoadSettings {
  levels: number[];
  durationS: number;
  warmupS: number;
  /** PNG bytes to send */
  body: Uint8Array;
  path: string;
}

type Tracker = {
  on(
    event: "response",
    fn: (client: unknown, status: number, bytes: number, ms: number) => void,
  ): void;
} & Promise<Record<string, unknown>>;

async function fire(url: string, s: LoadSettings, connections: number, duration: number) {
  const times: number[] = [];
  const codes: Record<string, number> = {};
  const tracker = autocannon({
    url: `${url}${s.path}`,
    method: "POST",
    headers: { "content-type": "image/png" },
    body: Buffer.from(s.body),
    connections,
    duration,
    timeout: 30,
  }) as unknown as Tracker;
  tracker.on("response", (_c, status, _b, ms) => {
    codes[status] = (codes[status] ?? 0) + 1;
    if (status >= 200 && status < 300) times.push(ms);
  });
  const result = await tracker;
  return { result, times, codes };
}

/** Runs every level against `server`. */
export async function httpLoad(server: ServerProcess, s: LoadSettings): Promise<LoadLevel[]> {
  const levels: LoadLevel[] = [];
  for (const c of s.levels) {
    progress(`http: ${c} connection(s): warm-up ${s.warmupS} s`);
    await fire(server.url, s, c, s.warmupS);
    const load = loadSample("").loadavg;
    progress(`http: ${c} connection(s): ${s.durationS} s timed`);
    const { result, times, codes } = await fire(server.url, s, c, s.durationS);
    const ok = Object.entries(codes).filter(([k]) => Number(k) >= 200 && Number(k) < 300).reduce(
      (a, [, v]) => a + v,
      0,
    );
    const responses = Object.values(codes).reduce((a, b) => a + b, 0);
    const duration = Number(result.duration) || s.durationS;
    const level: LoadLevel = {
      connections: c,
      duration_s: round(duration, 2),
      warmup_s: s.warmupS,
      responses,
      ok_2xx: ok,
      non_2xx: responses - ok,
      http_503: codes[503] ?? 0,
      status_counts: codes,
      errors: Number(result.errors ?? 0),
      timeouts: Number(result.timeouts ?? 0),
      throughput_rps: round(ok / duration, 1),
      latency_ms: {
        n: times.length,
        p50: round(percentile(times, 50), 2),
        p90: round(percentile(times, 90), 2),
        p99: round(percentile(times, 99), 2),
        max: round(times.length ? Math.max(...times) : NaN, 2),
        mean: round(times.reduce((a, b) => a + b, 0) / (times.length || 1), 2),
      },
      rss_after_mib: serverMemory(server).rss_mib,
      loadavg_at_start: load,
    };
    progress(
      `http: ${c} connection(s): ${level.throughput_rps} req/s, p50 ${level.latency_ms.p50} ms, p99 ${level.latency_ms.p99} ms, non-2xx ${level.non_2xx}, errors ${level.errors}`,
    );
    levels.push(level);
  }
  return levels;
}
