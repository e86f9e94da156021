/**
 * Part `memory`: the server's resident memory with its memory settings as they are now
 * against the settings before them (codec pool started with the server, engine lanes kept,
 * glibc's sliding mmap threshold, no allocator trim, onnxruntime's CPU arena on, no idle
 * GC, no V8 flag) and against the defaults with one setting undone (native: without `deno
 * task serve`'s `--no-memory-pool-share-memory-on-teardown`, so an ended Worker's heap pages
 * stay in V8's page pool, and without its `--max-semi-space-size`, so V8 sizes the young
 * generation itself; wasm: `TINYUNET_IDLE_GC_MS=0`), in alternating rounds of one run. Per
 * start: spawn → ready (ms), RSS once ready (+2 s), right after c=8 wrk load (warm-up + timed
 * run, the same PNG and Lua script as part `versus`) with the peak through it (VmHWM), 3 s
 * later, and once idle lanes have been released (`TINYUNET_LANE_IDLE_MS` + 3 s after the
 * load); for native also a V2 binary request with a ~30 MB FP32 tensor (3×1600×1600): RSS
 * before, the peak (sampled every 2 ms) and 3 s after. The defaults run twice: with `deno task
 * serve`'s command and with the deployed one (the container's entrypoint; its writable path and
 * native probe cache a temporary folder), on which the RSS goals are checked.
 *
 * @module
 */
import { v2BinaryBody } from "../lib/v2_bodies.ts";
import { loadConfig } from "../src/config.ts";
import { procMemory } from "./memory.ts";
import { progress } from "./progress.ts";
import { serveArgs } from "../lib/serve_command.ts";
import { deployedStart, startServer } from "./server.ts";
import { median as medianOf, round } from "./stats.ts";
import { wrk } from "./versus.ts";

const ROOT = new URL("../", import.meta.url);

/** The settings before this round of memory work (each one a variable of src/config.ts). */
export const MEMORY_SETTINGS_BEFORE: Record<string, string> = {
  TINYUNET_WORKER_IDLE_MS: "0",
  TINYUNET_LANE_IDLE_MS: "0",
  TINYUNET_MALLOC_TRIM_MS: "0",
  TINYUNET_MMAP_THRESHOLD_KB: "0",
  TINYUNET_NATIVE_ARENA: "1",
  TINYUNET_IDLE_GC_MS: "0",
};

/** The defaults but without the collections at ready and when idle (src/memory/collect.ts). */
const NO_IDLE_GC = { TINYUNET_IDLE_GC_MS: "0" };

/** `deno task serve`'s arguments without its V8 flags (an ended Worker's pages stay pooled). */
const withoutV8Flags = () => serveArgs().filter((a) => !a.startsWith("--v8-flags"));

/** `deno task serve`'s arguments with one V8 flag (by name) left out of its `--v8-flags=`. */
export function withoutV8Flag(args: string[], name: string): string[] {
  return args.map((a) => {
    if (!a.startsWith("--v8-flags=")) return a;
    const kept = a.slice("--v8-flags=".length).split(",").filter((f) => f.split("=")[0] !== name);
    return kept.length ? `--v8-flags=${kept.join(",")}` : "";
  }).filter((a) => a !== "");
}

/** The young-generation cap of `deno task serve` (README, Memory). */
const SEMI_SPACE_FLAG = "--max-semi-space-size";
/** An ended Worker's heap pages back to the system (README, Memory). */
const TEARDOWN_FLAG = "--no-memory-pool-share-memory-on-teardown";

/** Stands for the deployed command's temporary writable folder in `configs` (the report). */
const STATE = "<temporary folder>";

/** The server's default `TINYUNET_LANE_IDLE_MS`. */
const LANE_IDLE_MS = loadConfig({}).laneIdleMs;

/** One start of one configuration. */
export interface MemoryRun {
  config: string;
  round: number;
  ready_ms: number;
  rss_idle_mib: number | null;
  rss_after_load_mib: number | null;
  /** VmHWM right after the load: the most the process held from its start through the load */
  hwm_load_mib?: number | null;
  rss_after_load_3s_mib: number | null;
  /** once idle lanes are released: `TINYUNET_LANE_IDLE_MS` + 3 s after the load */
  rss_lanes_idle_mib: number | null;
  requests_per_s: number | null;
  v2_30mb: { status: number; before_mib: number; peak_mib: number; after_3s_mib: number } | null;
}

/** The part's result: every start, and per configuration the medians. */
export interface MemorySettingsResult {
  configs: { id: string; label: string; env: Record<string, string>; args?: string[] }[];
  runs: MemoryRun[];
  summary: {
    config: string;
    ready_ms: number;
    rss_idle_mib: number;
    rss_after_load_mib: number;
    /** absent in older results */
    hwm_load_mib?: number;
    rss_after_load_3s_mib: number;
    rss_lanes_idle_mib: number;
    requests_per_s: number;
    v2_peak_growth_mib: number | null;
    v2_kept_mib: number | null;
  }[];
}

const rssOf = (pid: number) => procMemory(pid).rss_mib;
/** The median of the finite values, to 0.1 (NaN for none). */
const median = (xs: number[]) => round(medianOf(xs.filter((x) => Number.isFinite(x))), 1);

/** A V2 binary-extension body: one FP32 `[1, 3, h, w]` tensor named `image`. */
function v2Body(h: number, w: number) {
  const x = new Float32Array(3 * h * w);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000;
  return v2BinaryBody(x, h, w);
}

/** One V2 request with a ~30 MB tensor: RSS before, its peak (sampled every 2 ms), 3 s after. */
export async function v2Large(url: string, pid: number) {
  const { body, headerLength } = v2Body(1600, 1600);
  const before = rssOf(pid) ?? 0;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid) ?? 0)), 2);
  try {
    const res = await fetch(`${url}/v2/models/isic2017/infer`, {
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "inference-header-content-length": String(headerLength),
      },
      body,
    });
    await res.arrayBuffer();
    clearInterval(sampler);
    await new Promise((r) => setTimeout(r, 3000));
    return {
      status: res.status,
      before_mib: before,
      peak_mib: peak,
      after_3s_mib: rssOf(pid) ?? 0,
    };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Runs the comparison: `rounds` × (native: before, without the teardown flag, without the young-generation cap, now; wasm: before,
 * without idle GC, now).
 */
export async function memorySettings(
  s: { rounds: number; durationS: number; warmupS: number; image: string },
): Promise<MemorySettingsResult> {
  const image = new URL(s.image, ROOT).pathname;
  const WITHOUT_V8_FLAG = withoutV8Flags();
  const state = await Deno.makeTempDir({ prefix: "tinyunet-bench-memory-" });
  const configs: MemorySettingsResult["configs"] = [
    {
      id: "native-before",
      label: "native, settings before",
      env: MEMORY_SETTINGS_BEFORE,
      args: WITHOUT_V8_FLAG,
    },
    {
      id: "native-pool-kept",
      label: `native, defaults but without ${TEARDOWN_FLAG}`,
      env: {},
      args: withoutV8Flag(serveArgs(), TEARDOWN_FLAG),
    },
    {
      id: "native-young-default",
      label: "native, defaults but V8's own young generation size (no --max-semi-space-size)",
      env: {},
      args: withoutV8Flag(serveArgs(), SEMI_SPACE_FLAG),
    },
    { id: "native-now", label: "native, defaults now", env: {} },
    {
      id: "native-deployed",
      label: "native, defaults now, the deployed command",
      // the report shows the placeholder, the start the folder
      ...deployedStart(STATE),
    },
    {
      id: "wasm-before",
      label: "wasm, settings before",
      env: { ...MEMORY_SETTINGS_BEFORE, TINYUNET_ENGINE: "wasm" },
      args: WITHOUT_V8_FLAG,
    },
    {
      id: "wasm-no-gc",
      label: "wasm, defaults but TINYUNET_IDLE_GC_MS=0",
      env: { ...NO_IDLE_GC, TINYUNET_ENGINE: "wasm" },
    },
    {
      id: "wasm-onnxruntime-web",
      label:
        "wasm, defaults now but onnxruntime-web for every model (TINYUNET_WASM_KERNELS=onnxruntime)",
      env: { TINYUNET_ENGINE: "wasm", TINYUNET_WASM_KERNELS: "onnxruntime" },
    },
    { id: "wasm-now", label: "wasm, defaults now", env: { TINYUNET_ENGINE: "wasm" } },
  ];
  const runs: MemoryRun[] = [];
  try {
    await measureRounds(configs, runs, s, image, state);
  } finally {
    await Deno.remove(state, { recursive: true }).catch(() => {});
  }
  const summary = configs.map((c) => {
    const mine = runs.filter((r) => r.config === c.id);
    const v2 = mine.map((r) => r.v2_30mb).filter((x) => x !== null);
    return {
      config: c.id,
      ready_ms: median(mine.map((r) => r.ready_ms)),
      rss_idle_mib: median(mine.map((r) => r.rss_idle_mib ?? NaN)),
      rss_after_load_mib: median(mine.map((r) => r.rss_after_load_mib ?? NaN)),
      hwm_load_mib: median(mine.map((r) => r.hwm_load_mib ?? NaN)),
      rss_after_load_3s_mib: median(mine.map((r) => r.rss_after_load_3s_mib ?? NaN)),
      rss_lanes_idle_mib: median(mine.map((r) => r.rss_lanes_idle_mib ?? NaN)),
      requests_per_s: median(mine.map((r) => r.requests_per_s ?? NaN)),
      v2_peak_growth_mib: v2.length ? median(v2.map((x) => x.peak_mib - x.before_mib)) : null,
      v2_kept_mib: v2.length ? median(v2.map((x) => x.after_3s_mib - x.before_mib)) : null,
    };
  });
  return { configs, runs, summary };
}

/** Starts every configuration once per round and measures it (appends to `runs`). */
async function measureRounds(
  configs: MemorySettingsResult["configs"],
  runs: MemoryRun[],
  s: { rounds: number; durationS: number; warmupS: number },
  image: string,
  state: string,
) {
  for (let rnd = 1; rnd <= s.rounds; rnd++) {
    for (const c of configs) {
      const inState = (v: string) => v.replaceAll(STATE, state);
      const env = Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, inState(v)]));
      const server = await startServer({
        env: { ...env, TINYUNET_WATCH: "off" },
        args: c.args?.map(inState),
      });
      try {
        await new Promise((r) => setTimeout(r, 2000));
        const idle = rssOf(server.pid);
        await wrk(server.url, image, 8, s.warmupS);
        const w = await wrk(server.url, image, 8, s.durationS);
        const { rss_mib: afterLoad, hwm_mib: hwmLoad } = procMemory(server.pid);
        const loadEnd = performance.now();
        await new Promise((r) => setTimeout(r, 3000));
        const after3 = rssOf(server.pid);
        const lanesGone = LANE_IDLE_MS + 3000 - (performance.now() - loadEnd);
        await new Promise((r) => setTimeout(r, Math.max(0, lanesGone)));
        const lanesIdle = rssOf(server.pid);
        const v2 = c.id.startsWith("native") ? await v2Large(server.url, server.pid) : null;
        const run: MemoryRun = {
          config: c.id,
          round: rnd,
          ready_ms: round(server.ready_ms, 1),
          rss_idle_mib: idle,
          rss_after_load_mib: afterLoad,
          hwm_load_mib: hwmLoad,
          rss_after_load_3s_mib: after3,
          rss_lanes_idle_mib: lanesIdle,
          requests_per_s: round((w.requests - w.status) / (w.duration_us / 1e6), 1),
          v2_30mb: v2,
        };
        runs.push(run);
        progress(
          `memory: round ${rnd} ${c.label}: ready ${run.ready_ms} ms, idle ${idle} MiB, after c=8 ${afterLoad} (peak ${hwmLoad}) → ${after3} → ${lanesIdle} MiB (${run.requests_per_s} req/s)${
            v2 ? `; V2 30 MB: ${v2.before_mib} → peak ${v2.peak_mib} → ${v2.after_3s_mib} MiB` : ""
          }`,
        );
      } finally {
        await server.stop();
      }
    }
  }
}
