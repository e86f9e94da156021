/**
 * Student vs teacher latency on every engine configuration, side by side in one process:
 * for each configuration both nets are opened, then at each size the student is timed and
 * the teacher right after it, so background load hits both alike. Reports the median and
 * p90 of the timed runs (warm-ups excluded), achieved GFLOP/s (FLOPs from flops.ts divided
 * by the median), and the teacher/student latency ratio per engine and size.
 *
 * @module
 */
import type { EngineSession } from "../src/engines/engine.ts";
import type { EngineConfig } from "./engines.ts";
import { openSession, randomInput } from "./engines.ts";
import type { BenchNet, BenchNets, NetRole } from "./models.ts";
import { progress } from "./progress.ts";
import { loadSample, settleCpu } from "./machine.ts";
import { round, type RunPlan, type Timed, timeRuns } from "./stats.ts";

/** One net on one configuration at one size. */
export interface LatencyRow {
  config: string;
  net: NetRole;
  size: number;
  threads_used: number | null;
  notes: string[];
  /** session creation incl. the engine's small warm-up (ms) */
  create_ms: number | null;
  timing: Omit<Timed, "samples_ms"> | null;
  samples_ms?: number[];
  flops: number;
  /** flops / median, GFLOP/s */
  gflops_per_s: number | null;
  loadavg_at_start: number[];
  skipped?: string;
  error?: string;
}

/** Teacher/student median latency ratio of one configuration and size. */
export interface LatencyRatio {
  config: string;
  size: number;
  student_median_ms: number;
  teacher_median_ms: number;
  teacher_over_student: number;
}

/** Settings of {@link latencyMatrix}. */
export interface LatencySettings {
  sizes: number[];
  plans: Record<NetRole, RunPlan>;
  /** plan on WebGPU (whatever the net) */
  webgpuPlan: RunPlan;
  /** sizes timed on WebGPU (a software adapter is slow) */
  webgpuSizes: number[];
  /** time the teacher on WebGPU too */
  webgpuTeacher: boolean;
  /** engine watchdog limit per run, by net (ms) */
  hangMs: Record<NetRole, number>;
  /** FLOPs of each net at each size */
  flops: Record<NetRole, Record<number, number>>;
  /** small input for the engine's own warm-up */
  warmupSize: number;
}

/** Times both nets on every available configuration; returns rows and ratios. */
export async function latencyMatrix(nets: BenchNets, configs: EngineConfig[], s: LatencySettings) {
  const rows: LatencyRow[] = [];
  for (const cfg of configs) {
    const sizes = cfg.engine === "webgpu"
      ? s.sizes.filter((z) => s.webgpuSizes.includes(z))
      : s.sizes;
    const roles: NetRole[] = cfg.engine === "webgpu" && !s.webgpuTeacher
      ? ["student"]
      : ["student", "teacher"];
    const base = (net: NetRole, size: number): LatencyRow => ({
      config: cfg.id,
      net,
      size,
      threads_used: null,
      notes: [],
      create_ms: null,
      timing: null,
      flops: s.flops[net][size],
      gflops_per_s: null,
      loadavg_at_start: loadSample("").loadavg,
    });
    if (!cfg.available) {
      for (const size of s.sizes) {
        for (const net of ["student", "teacher"] as const) {
          rows.push({ ...base(net, size), skipped: cfg.reason });
        }
      }
      continue;
    }
    const sessions: Partial<
      Record<NetRole, { session: EngineSession; create_ms: number } | { error: string }>
    > = {};
    for (const net of roles) {
      progress(`${cfg.id}: opening ${net}`);
      const t0 = performance.now();
      try {
        // a software WebGPU adapter compiles shaders for ~25 s on its first run
        const hang = cfg.engine === "webgpu" ? Math.max(180_000, s.hangMs[net]) : s.hangMs[net];
        const source = { path: nets[net].path, bytes: nets[net].bytes, externalData: [] };
        const session = await openSession(cfg, source, {
          name: "image",
          dims: [1, 3, s.warmupSize, s.warmupSize],
        }, hang);
        sessions[net] = { session, create_ms: round(performance.now() - t0, 1) };
      } catch (err) {
        sessions[net] = { error: (err as Error).message };
      }
    }
    for (const size of s.sizes) {
      for (const net of ["student", "teacher"] as const) {
        const row = base(net, size);
        const slot = sessions[net];
        if (!sizes.includes(size) || !roles.includes(net)) {
          rows.push({
            ...row,
            skipped: cfg.engine === "webgpu"
              ? `not timed on WebGPU${
                cfg.software ? " (software adapter)" : ""
              } at this size/net: pass --webgpu-teacher / --webgpu-sizes`
              : "not requested",
          });
          continue;
        }
        if (!slot || "error" in slot) {
          rows.push({ ...row, error: slot && "error" in slot ? slot.error : "no session" });
          continue;
        }
        const plan = cfg.engine === "webgpu" ? s.webgpuPlan : s.plans[net];
        rows.push(await timeOne(cfg, nets[net], slot.session, slot.create_ms, size, plan, row));
      }
    }
    for (const slot of Object.values(sessions)) {
      if (slot && "session" in slot) await slot.session.release();
    }
  }
  return { rows, ratios: ratios(rows) };
}

async function timeOne(
  cfg: EngineConfig,
  net: BenchNet,
  session: EngineSession,
  createMs: number,
  size: number,
  plan: RunPlan,
  row: LatencyRow,
): Promise<LatencyRow> {
  const feeds = randomInput("image", [1, 3, size, size]);
  progress(
    `${cfg.id}: ${net.role} ${size}² (warm-up ${plan.warmup}, ${plan.minRuns}-${plan.maxRuns} runs, budget ${
      plan.budgetMs / 1000
    } s)`,
  );
  const settled = await settleCpu();
  if (settled > 500) progress(`${cfg.id}: waited ${settled} ms for the process to go quiet`);
  row.loadavg_at_start = loadSample("").loadavg;
  try {
    const { samples_ms, ...timing } = await timeRuns(() => session.run(feeds), plan);
    const gflops = row.flops / (timing.summary.median_ms / 1000) / 1e9;
    progress(
      `${cfg.id}: ${net.role} ${size}² median ${timing.summary.median_ms.toFixed(2)} ms, p90 ${
        timing.summary.p90_ms.toFixed(2)
      } ms (n=${timing.summary.n}), ${gflops.toFixed(1)} GFLOP/s`,
    );
    return {
      ...row,
      threads_used: session.threads,
      notes: [...session.notes],
      create_ms: createMs,
      timing,
      samples_ms,
      gflops_per_s: round(gflops, 2),
    };
  } catch (err) {
    return {
      ...row,
      threads_used: session.threads,
      notes: [...session.notes],
      create_ms: createMs,
      error: (err as Error).message,
    };
  }
}

/** Teacher/student median ratios wherever both were timed. */
export function ratios(rows: LatencyRow[]): LatencyRatio[] {
  const out: LatencyRatio[] = [];
  for (const st of rows) {
    if (st.net !== "student" || !st.timing) continue;
    const te = rows.find((r) =>
      r.net === "teacher" && r.config === st.config && r.size === st.size && r.timing
    );
    if (!te?.timing) continue;
    out.push({
      config: st.config,
      size: st.size,
      student_median_ms: st.timing.summary.median_ms,
      teacher_median_ms: te.timing.summary.median_ms,
      teacher_over_student: round(te.timing.summary.median_ms / st.timing.summary.median_ms, 1),
    });
  }
  return out;
}
