/**
 * This server against the obvious Python one, in one run: the FastAPI + uvicorn + PyTorch
 * peer (`bench/peer/fastapi_server.py`: the same TinyUnet, weights and contract, 1 torch
 * thread, PIL codecs) and variants of ours (native engine in its host Worker — the default;
 * native on the event loop; `deno serve --parallel`; wasm), all driven by the same load
 * generator (wrk, `bench/peer/post_png.lua`) with the same PNG, in alternating rounds:
 * round 1 runs every server at c=1 then at c=8, round 2 again, so background load hits all
 * alike. Each timed level follows a warm-up at the same concurrency.
 *
 * Per level: req/s, p50/p90/p99 (wrk's histogram), errors, the server's CPU time per
 * request (utime+stime of the server process from /proc over the timed run, all threads:
 * what a request costs whatever else the machine runs) and per thread, and its RSS after.
 * From the per-thread CPU a *model* (labelled as such) of what each server would serve on
 * two cores of its own: min(1000 / busiest thread's ms, 2000 / all threads' ms) — on a
 * shared machine the measured req/s reflect the CPU share each server got, not only its
 * design. Idle RSS is read
 * once ready. Before timing, one mask from each server is compared with ours pixel by pixel.
 *
 * @module
 */
import { decode } from "fast-png";
import { cpuOf, cpuSeconds, procMemory, procStat } from "./memory.ts";
import { progress } from "./progress.ts";
import { startServer } from "./server.ts";
import { freePort } from "../lib/free_port.ts";
import { round } from "./stats.ts";

const ROOT = new URL("../", import.meta.url);
const LUA = new URL("peer/post_png.lua", import.meta.url).pathname;
const PEER = new URL("peer/fastapi_server.py", import.meta.url).pathname;

/** One server under test. */
export interface VersusServer {
  id: string;
  label: string;
  kind: "ours" | "peer";
  /** environment / arguments (ours) */
  env?: Record<string, string>;
  args?: string[];
}

/** One timed level of one server. */
export interface VersusLevel {
  server: string;
  round: number;
  connections: number;
  duration_s: number;
  requests: number;
  /** non-2xx responses + socket errors + timeouts */
  errors: number;
  rps: number;
  latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** server process CPU (all threads) per request over the timed run */
  cpu_ms_per_request: number | null;
  /** the busiest threads' CPU per request (name: ms), over the timed run */
  threads_ms_per_request: { name: string; ms: number }[];
  /**
   * A model, not a measurement: requests/s this process could serve on 2 cores of its own,
   * min(1000 / busiest thread's ms, 2000 / all threads' ms), from the CPU it spent here
   */
  two_free_cores_rps_model: number | null;
  rss_after_mib: number | null;
}

/** The part's result. */
export interface VersusResult {
  load_generator: string;
  image: string;
  peer: { command: string; model_dir: string; torch_threads: number | null; torch: string | null };
  servers: (VersusServer & {
    ready_ms: number | null;
    rss_idle_mib: number | null;
    hwm_end_mib: number | null;
    mask_agreement: number | null;
    error?: string;
  })[];
  levels: VersusLevel[];
  /** per server and level over the rounds: median req/s, p50, CPU; the worst round's p99 */
  summary: {
    server: string;
    connections: number;
    rps: number;
    p50_ms: number;
    p99_ms: number;
    cpu_ms_per_request: number | null;
    two_free_cores_rps_model: number | null;
  }[];
  /**
   * ours (default) over the peer at each level: throughput (our median round over the peer's
   * best round: a peer round that ran slow does not flatter us) and CPU per request
   */
  ratios: {
    connections: number;
    throughput: number;
    /** our median req/s over the peer's median (as before: flattered by a slow peer round) */
    throughput_medians?: number;
    cpu_per_request: number | null;
    /** ratio of the two-free-cores models (not a measurement) */
    two_free_cores_model: number | null;
  }[];
}

/** Settings of {@link versus}. */
export interface VersusSettings {
  servers: VersusServer[];
  levels: number[];
  rounds: number;
  durationS: number;
  warmupS: number;
  image: string;
  /** the model the peer serves (the repository's default: what /v1/segment runs) */
  peerModelDir: string;
}

interface Running {
  pid: number;
  url: string;
  ready_ms: number;
  stop(): Promise<void>;
}

/** CPU seconds per thread (by tid, with its name) of a process so far. */
function threadCpu(pid: number): Map<string, { name: string; s: number }> {
  const out = new Map<string, { name: string; s: number }>();
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const stat = procStat(pid, t.name); // null: the thread is gone
      if (stat) out.set(t.name, { name: stat.name, s: cpuOf(stat.fields) });
    }
  } catch { /* no /proc */ }
  return out;
}

async function startPeer(modelDir: string): Promise<Running & { info: Record<string, unknown> }> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = new Deno.Command("/usr/bin/python3", {
    args: [PEER, modelDir, String(port)],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => ((exited = true), s));
  const stderr = new Response(child.stderr).text();
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
    }
    await status;
    await stderr.catch(() => "");
  };
  while (true) {
    if (exited) throw new Error(`peer exited before ready: ${(await stderr).slice(-1500)}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) {
        const info = await res.json();
        return { pid: child.pid, url, ready_ms: performance.now() - t0, stop, info };
      }
      await res.body?.cancel();
    } catch { /* not yet */ }
    if (performance.now() - t0 > 120_000) {
      await stop();
      throw new Error("peer not ready within 120 s");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface WrkJson {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** One wrk run with the PNG-posting Lua script; its JSON summary. */
export async function wrk(url: string, image: string, connections: number, seconds: number) {
  const out = await new Deno.Command("wrk", {
    args: [
      "-t1",
      `-c${connections}`,
      `-d${Math.max(1, Math.round(seconds))}s`,
      "--timeout",
      "30s",
      "-s",
      LUA,
      `${url}/v1/segment`,
    ],
    env: { WRK_BODY: image },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!out.success || !line) {
    throw new Error(`wrk failed: ${text.slice(-500)} ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(line.slice(9)) as WrkJson;
}

async function maskOf(url: string, body: Uint8Array): Promise<Uint8Array | null> {
  try {
    const res = await fetch(`${url}/v1/segment`, {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: body as BodyInit,
    });
    if (!res.ok) return null;
    return decode(new Uint8Array(await res.arrayBuffer())).data as Uint8Array;
  } catch {
    return null;
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = (s.length - 1) / 2;
  return (s[Math.floor(m)] + s[Math.ceil(m)]) / 2;
}

/**
 * Per server and level over the rounds: median req/s, p50, CPU and model; the worst
 * round's p99. Ratios: ours (the first `ours` server) over the peer; throughput against the
 * peer's best round (its req/s fell 63 → 17 between two rounds of one run, 11:53 UTC 2026-12-02,
 * while ours held).
 */
export function summarizeLevels(
  servers: VersusServer[],
  levelList: number[],
  levels: VersusLevel[],
): Pick<VersusResult, "summary" | "ratios"> {
  const summary: VersusResult["summary"] = [];
  for (const def of servers) {
    for (const c of levelList) {
      const ls = levels.filter((l) => l.server === def.id && l.connections === c);
      if (!ls.length) continue;
      const cpu = ls.map((l) => l.cpu_ms_per_request).filter((v): v is number => v !== null);
      const model = ls.map((l) => l.two_free_cores_rps_model).filter((v): v is number =>
        v !== null
      );
      summary.push({
        server: def.id,
        connections: c,
        rps: round(median(ls.map((l) => l.rps)), 1),
        p50_ms: round(median(ls.map((l) => l.latency_ms.p50)), 2),
        p99_ms: round(Math.max(...ls.map((l) => l.latency_ms.p99)), 2),
        cpu_ms_per_request: cpu.length ? round(median(cpu), 2) : null,
        two_free_cores_rps_model: model.length ? round(median(model), 0) : null,
      });
    }
  }
  const ours = servers.find((x) => x.kind === "ours")?.id;
  const peer = servers.find((x) => x.kind === "peer")?.id;
  const ratios = levelList.flatMap((c) => {
    const a = summary.find((x) => x.server === ours && x.connections === c);
    const b = summary.find((x) => x.server === peer && x.connections === c);
    if (!a || !b || !(b.rps > 0)) return [];
    const peerBest = Math.max(
      ...levels.filter((l) => l.server === peer && l.connections === c).map((l) => l.rps),
    );
    return [{
      connections: c,
      throughput: round(a.rps / peerBest, 2),
      throughput_medians: round(a.rps / b.rps, 2),
      cpu_per_request: a.cpu_ms_per_request && b.cpu_ms_per_request
        ? round(b.cpu_ms_per_request / a.cpu_ms_per_request, 2)
        : null,
      two_free_cores_model: a.two_free_cores_rps_model && b.two_free_cores_rps_model
        ? round(a.two_free_cores_rps_model / b.two_free_cores_rps_model, 2)
        : null,
    }];
  });
  return { summary, ratios };
}

/** Runs the comparison. */
export async function versus(s: VersusSettings): Promise<VersusResult> {
  const image = new URL(s.image, ROOT).pathname;
  const body = await Deno.readFile(image);
  const running = new Map<string, Running>();
  const servers: VersusResult["servers"] = [];
  let peerInfo: Record<string, unknown> = {};
  try {
    // start everything first (one at a time), so timed rounds run with all resident
    for (const def of s.servers) {
      progress(`versus: starting ${def.label}`);
      try {
        let r: Running;
        if (def.kind === "peer") {
          const p = await startPeer(s.peerModelDir);
          peerInfo = p.info;
          r = p;
        } else {
          r = await startServer({ env: def.env, args: def.args });
        }
        running.set(def.id, r);
        // the HTTP isolate collects start-up garbage after TINYUNET_IDLE_GC_MS quiet (a tick later)
        const quietMs = Number(def.env?.TINYUNET_IDLE_GC_MS ?? 1000) + 1000;
        await new Promise((res) => setTimeout(res, quietMs));
        servers.push({
          ...def,
          ready_ms: round(r.ready_ms, 1),
          rss_idle_mib: procMemory(r.pid).rss_mib,
          hwm_end_mib: null,
          mask_agreement: null,
        });
      } catch (err) {
        progress(`versus: ${def.label} did not start: ${(err as Error).message.slice(0, 300)}`);
        servers.push({
          ...def,
          ready_ms: null,
          rss_idle_mib: null,
          hwm_end_mib: null,
          mask_agreement: null,
          error: (err as Error).message.slice(0, 1000),
        });
      }
    }
    // a few requests first: PyTorch's and V8's first runs are slow
    for (const r of running.values()) for (let i = 0; i < 3; i++) await maskOf(r.url, body);
    const reference = running.get(s.servers[0].id);
    const refMask = reference ? await maskOf(reference.url, body) : null;
    for (const srv of servers) {
      const r = running.get(srv.id);
      const m = r ? await maskOf(r.url, body) : null;
      if (m && refMask && m.length === refMask.length) {
        let same = 0;
        for (let i = 0; i < m.length; i++) if (m[i] === refMask[i]) same++;
        srv.mask_agreement = round(same / m.length, 5);
      }
    }
    const levels: VersusLevel[] = [];
    for (let rnd = 1; rnd <= s.rounds; rnd++) {
      for (const c of s.levels) {
        for (const def of s.servers) {
          const r = running.get(def.id);
          if (!r) continue;
          await wrk(r.url, image, c, s.warmupS);
          const cpu0 = cpuSeconds(r.pid);
          const t0 = threadCpu(r.pid);
          const w = await wrk(r.url, image, c, s.durationS);
          const cpu1 = cpuSeconds(r.pid);
          const t1 = threadCpu(r.pid);
          const errors = w.status + w.connect + w.read + w.write + w.timeout;
          const ok = w.requests - w.status;
          const perThread = [...t1].map(([tid, v]) => ({
            name: v.name,
            ms: ok > 0 ? ((v.s - (t0.get(tid)?.s ?? 0)) * 1000) / ok : 0,
          })).filter((x) => x.ms >= 0.05).sort((a, b) => b.ms - a.ms);
          const total = perThread.reduce((a, x) => a + x.ms, 0);
          const busiest = perThread[0]?.ms ?? 0;
          const level: VersusLevel = {
            server: def.id,
            round: rnd,
            connections: c,
            duration_s: round(w.duration_us / 1e6, 2),
            requests: w.requests,
            errors,
            rps: round(ok / (w.duration_us / 1e6), 1),
            latency_ms: {
              p50: round(w.p50 / 1000, 2),
              p90: round(w.p90 / 1000, 2),
              p99: round(w.p99 / 1000, 2),
              max: round(w.max / 1000, 2),
              mean: round(w.mean / 1000, 2),
            },
            cpu_ms_per_request: cpu0 !== null && cpu1 !== null && ok > 0
              ? round(((cpu1 - cpu0) * 1000) / ok, 2)
              : null,
            threads_ms_per_request: perThread.slice(0, 6).map((x) => ({
              name: x.name,
              ms: round(x.ms, 2),
            })),
            two_free_cores_rps_model: busiest > 0
              ? round(Math.min(1000 / busiest, 2000 / total), 0)
              : null,
            rss_after_mib: procMemory(r.pid).rss_mib,
          };
          levels.push(level);
          progress(
            `versus: round ${rnd} c=${c} ${def.label}: ${level.rps} req/s, p50 ${level.latency_ms.p50} ms, p99 ${level.latency_ms.p99} ms, ${level.cpu_ms_per_request} ms CPU/request, errors ${errors}`,
          );
        }
      }
    }
    for (const srv of servers) {
      const r = running.get(srv.id);
      if (r) srv.hwm_end_mib = procMemory(r.pid).hwm_mib;
    }
    const { summary, ratios } = summarizeLevels(s.servers, s.levels, levels);
    return {
      load_generator: `wrk (${await wrkVersion()}), 1 thread, ${LUA.replace(ROOT.pathname, "")}`,
      image: s.image,
      peer: {
        command: `python3 bench/peer/fastapi_server.py ${
          s.peerModelDir.replace(ROOT.pathname, "")
        } PORT`,
        model_dir: s.peerModelDir.replace(ROOT.pathname, ""),
        torch_threads: typeof peerInfo.threads === "number" ? peerInfo.threads : null,
        torch: typeof peerInfo.torch === "string" ? peerInfo.torch : null,
      },
      servers,
      levels,
      summary,
      ratios,
    };
  } finally {
    for (const r of running.values()) await r.stop();
  }
}

async function wrkVersion(): Promise<string> {
  try {
    const out = await new Deno.Command("wrk", { args: ["--version"], stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).split("\n")[0].replace(/ Copyright.*/, "").trim();
  } catch {
    return "unknown";
  }
}
