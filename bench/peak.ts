/**
 * The machine's limits, to say how far the nets run from them:
 *
 * 1. Physical, measured: `peak_probe.c` (compiled with the system C compiler for this
 *    CPU) measures the effective core clock (dependent integer adds per thread-CPU second),
 *    fp32 FMA throughput with 1 and 2 threads (16 independent 64-byte-vector accumulators),
 *    and memory bandwidth (STREAM triad). FMA GFLOP/s per thread-CPU second is what a core
 *    delivers when not shared; per wall second is what this run got.
 * 2. Theoretical: FP32 FLOP/cycle/core for the CPU's microarchitecture (a table keyed by
 *    vendor, family and SIMD flags: e.g. AMD Zen 4 = 2 FMA pipes × 256 bit = 32) × the
 *    measured clock (else the nominal one) × cores.
 * 3. Achievable through each engine: a large fp32 GEMM (MatMul N×N·N×N), a large 3×3
 *    conv (256→256 channels on 64×64) and the widest 3×3 conv the direct kernels take
 *    (64→64 on 64×64: on the native and wasm engines it runs on those kernels, as the
 *    student does, while the 256-channel one falls back to onnxruntime) run on the engine
 *    itself; the better conv is that engine's "conv peak", the better of all its
 *    "achievable peak".
 * 4. Engine floor: a one-node graph (Relu over the net's 1×3×S×S input), the fixed cost
 *    of one run (dispatch, input/output copies, worker messaging) that no net can beat.
 * 5. The student itself, timed the same way, so that its share of the conv peak compares
 *    like with like.
 *
 * How a configuration uses N threads decides how it is timed: an engine that runs one run
 * on N threads (onnxruntime, onnxruntime-web) is timed one run at a time; a session that
 * runs each run on one thread with lanes (the direct kernels) is timed with N runs at
 * once, its GFLOP/s counting all N (`in_flight`), which is how it uses N cores when served.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { GraphBuilder, seededRandom } from "../lib/onnx_builder.ts";
import type { EngineConfig } from "./engines.ts";
import type { EngineSession } from "../src/engines/engine.ts";
import { openSession, randomInput } from "./engines.ts";
import { type CpuInfo, settleCpu } from "./machine.ts";
import { progress } from "./progress.ts";
import { round, type RunPlan, timeRuns } from "./stats.ts";

const ROOT = new URL("../", import.meta.url);

/** Output of the C probe. */
export interface ProbeResult {
  available: boolean;
  reason: string;
  compiler?: string;
  clock_ghz?: number | null;
  /** by thread count: GFLOP/s per wall second and per thread-CPU second (summed over threads) */
  fma?: Record<string, { gflops_wall: number; gflops_per_cpu_second: number }>;
  /** by thread count: triad GB/s */
  triad_gb_per_s?: Record<string, number>;
}

/** Compiles (cached per CPU and compiler) and runs the C probe. */
export async function runProbe(
  cacheDir: string,
  quick: boolean,
  cpuKey: string,
): Promise<ProbeResult> {
  const src = new URL("bench/peak_probe.c", ROOT).pathname;
  const cc = ["cc", "gcc", "clang"].find((c) => {
    try {
      return new Deno.Command(c, { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  });
  if (!cc) {
    return {
      available: false,
      reason:
        "no C compiler (cc/gcc/clang) found; apt-get install gcc to measure the physical peak",
    };
  }
  const version = new TextDecoder().decode(
    new Deno.Command(cc, { args: ["--version"], stdout: "piped" }).outputSync().stdout,
  ).split("\n")[0];
  const digest = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(cpuKey + version + (await Deno.readTextFile(src))),
    ),
  );
  const bin = `${cacheDir}/peak_probe-${
    [...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
  if (!existsSync(bin)) {
    await Deno.mkdir(cacheDir, { recursive: true });
    const out = await new Deno.Command(cc, {
      args: ["-O2", "-march=native", "-ffp-contract=fast", "-pthread", "-o", bin, src],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      return {
        available: false,
        reason: `compiling peak_probe.c failed: ${
          new TextDecoder().decode(out.stderr).slice(0, 500)
        }`,
        compiler: version,
      };
    }
  }
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) throw new Error(`peak_probe ${args.join(" ")} failed`);
    return JSON.parse(new TextDecoder().decode(out.stdout).trim());
  };
  const secs = quick ? "0.2" : "2";
  const mb = quick ? "64" : "256";
  const result: ProbeResult = {
    available: true,
    reason: `${cc}: -O2 -march=native`,
    compiler: version,
    fma: {},
    triad_gb_per_s: {},
  };
  progress("peak: C probe (clock, FMA, triad)");
  const clock = await run("clock");
  result.clock_ghz = clock.ghz ?? null;
  for (const t of [1, 2]) {
    const f = await run("fma", String(t), secs);
    result.fma![t] = { gflops_wall: f.gflops, gflops_per_cpu_second: f.gflops_per_cpu_second_sum };
    const tr = await run("triad", String(t), mb);
    result.triad_gb_per_s![t] = tr.gbytes_per_s;
  }
  return result;
}

/** FP32 FLOP per cycle per core by microarchitecture (a table; see the module doc). */
export function flopPerCycle(cpu: CpuInfo): { value: number; basis: string } | null {
  const f = new Set(cpu.simd_flags);
  if (cpu.vendor === "AuthenticAMD" && cpu.family !== null) {
    if (cpu.family === 0x1a) {
      return {
        value: f.has("avx512f") ? 64 : 32,
        basis: "AMD Zen 5: 2 FMA pipes (512-bit on server parts); assumed",
      };
    }
    if (cpu.family === 0x19) {
      return {
        value: 32,
        basis: `AMD Zen ${
          f.has("avx512f") ? "4" : "3"
        } (family 19h): 2 FMA pipes × 256 bit (AVX-512 double-pumped) = 2 × 8 lanes × 2 FLOP`,
      };
    }
    if (cpu.family === 0x17) {
      return (cpu.model_number ?? 0) >= 0x30
        ? { value: 32, basis: "AMD Zen 2: 2 FMA pipes × 256 bit" }
        : { value: 16, basis: "AMD Zen 1: 2 FMA pipes × 128 bit" };
    }
  }
  if (cpu.vendor === "GenuineIntel") {
    if (f.has("avx512f")) {
      return {
        value: 64,
        basis: "Intel with AVX-512: assumed 2 FMA units × 512 bit (some SKUs have one: 32)",
      };
    }
    if (f.has("fma")) return { value: 32, basis: "Intel AVX2: 2 FMA units × 256 bit" };
  }
  if (f.has("fma")) return { value: 32, basis: "AVX2+FMA: assumed 2 FMA units × 256 bit" };
  return null;
}

function gemmModel(n: number): Uint8Array {
  const g = new GraphBuilder(3);
  const a = g.input("image", [n, n]);
  const rnd = seededRandom(5);
  const b = g.constant(new Float32Array(n * n).map(() => rnd() - 0.5), [n, n]);
  g.output(g.node("MatMul", [a, b]), "y", [n, n]);
  return g.build();
}

function convModel(c: number): Uint8Array {
  const g = new GraphBuilder(3);
  const x = g.input("image", [1, c, "h", "w"]);
  g.output(g.conv(x, c, c, 3), "y", [1, c, "h", "w"]);
  return g.build();
}

function reluModel(): Uint8Array {
  const g = new GraphBuilder(3);
  const x = g.input("image", [1, 3, "h", "w"]);
  g.output(g.relu(x), "y", [1, 3, "h", "w"]);
  return g.build();
}

/** One kernel on one engine configuration. */
export interface KernelRow {
  config: string;
  kernel: KernelKind;
  shape: string;
  flops: number;
  /** runs timed at once (1, or N for a one-thread-a-run session at N threads); absent in older results */
  in_flight?: number;
  median_ms?: number;
  p90_ms?: number;
  n?: number;
  gflops_per_s?: number;
  error?: string;
}

/** What a peak row timed (see the module doc). */
export type KernelKind = "gemm" | "conv" | "conv-direct" | "floor" | "student";

/** The conv kinds: an engine's conv peak is the better of them. */
export const CONV_KINDS: readonly KernelKind[] = ["conv", "conv-direct"];

/** Settings of {@link enginePeaks}. */
export interface PeakSettings {
  gemmN: number;
  convChannels: number;
  convSize: number;
  /** channels of the conv the direct kernels take (at most their `MAX_CHANNELS`) */
  directConvChannels: number;
  /** every kernel runs untimed this long first (ms), then the process settles (0: neither) */
  warmMs: number;
  /** the student net, timed at `floorSize` */
  student: { bytes: Uint8Array; flops: number };
  /** the nets' input size, for the floor */
  floorSize: number;
  plan: RunPlan;
}

/** Untimed runs before the floor's timed ones. */
const FLOOR_WARMUP = 200;

/** GEMM, conv, floor and student timings on every available configuration. */
export async function enginePeaks(configs: EngineConfig[], s: PeakSettings): Promise<KernelRow[]> {
  const kernels: {
    kernel: KernelKind;
    bytes: Uint8Array;
    dims: number[];
    shape: string;
    flops: number;
    /** the kernel's own run plan (default: `s.plan`) */
    plan?: RunPlan;
  }[] = [
    {
      kernel: "gemm",
      bytes: gemmModel(s.gemmN),
      dims: [s.gemmN, s.gemmN],
      shape: `${s.gemmN}×${s.gemmN}·${s.gemmN}×${s.gemmN}`,
      flops: 2 * s.gemmN ** 3,
    },
    {
      kernel: "conv",
      bytes: convModel(s.convChannels),
      dims: [1, s.convChannels, s.convSize, s.convSize],
      shape: `3×3 conv ${s.convChannels}→${s.convChannels} on ${s.convSize}²`,
      flops: 2 * s.convSize ** 2 * s.convChannels ** 2 * 9,
    },
    {
      kernel: "conv-direct",
      bytes: convModel(s.directConvChannels),
      dims: [1, s.directConvChannels, s.convSize, s.convSize],
      shape: `3×3 conv ${s.directConvChannels}→${s.directConvChannels} on ${s.convSize}²`,
      flops: 2 * s.convSize ** 2 * s.directConvChannels ** 2 * 9,
    },
    {
      kernel: "student",
      bytes: s.student.bytes,
      dims: [1, 3, s.floorSize, s.floorSize],
      shape: `the student on 1×3×${s.floorSize}²`,
      flops: s.student.flops,
    },
    {
      kernel: "floor",
      bytes: reluModel(),
      dims: [1, 3, s.floorSize, s.floorSize],
      shape: `Relu on 1×3×${s.floorSize}²`,
      flops: 0,
      // a run costs ~0.1 ms once the process has settled, so settle it first (the first
      // ~200 runs of a fresh process fault their output buffers in: bench/allocator.ts)
      plan: {
        ...s.plan,
        warmup: Math.max(s.plan.warmup, FLOOR_WARMUP),
        maxRuns: 6 * s.plan.maxRuns,
      },
    },
  ];
  const rows: KernelRow[] = [];
  for (const cfg of configs.filter((c) => c.available && c.engine !== "webgpu")) {
    for (const k of kernels) {
      const row: KernelRow = { config: cfg.id, kernel: k.kernel, shape: k.shape, flops: k.flops };
      progress(`peak: ${cfg.id} ${k.shape}`);
      try {
        const session = await openSession(
          cfg,
          { path: `${k.kernel}.onnx`, bytes: k.bytes, externalData: [] },
          { name: "image", dims: k.dims },
          60_000,
        );
        try {
          const feeds = randomInput("image", k.dims, 9);
          // the floor is the cost of one run, whatever the lanes
          const inFlight = k.kernel === "floor" ? 1 : runsAtOnce(cfg, session);
          const runs = Array.from({ length: inFlight });
          const once = () => Promise.all(runs.map(() => session.run(feeds)));
          // V8 compiles WebAssembly again, optimised, in the background while the first runs
          // go (a fresh Worker per session): run for a while, then wait for the process to go
          // quiet, as the latency part does (a wasm student once timed at 20 ms against 12)
          const t0 = performance.now();
          while (performance.now() - t0 < s.warmMs) await once();
          if (s.warmMs) await settleCpu();
          const t = await timeRuns(once, k.plan ?? s.plan);
          row.in_flight = inFlight;
          row.median_ms = t.summary.median_ms;
          row.p90_ms = t.summary.p90_ms;
          row.n = t.summary.n;
          if (k.flops) {
            row.gflops_per_s = round((inFlight * k.flops) / (t.summary.median_ms / 1000) / 1e9, 2);
          }
        } finally {
          await session.release();
        }
      } catch (err) {
        row.error = (err as Error).message.slice(0, 300);
      }
      rows.push(row);
    }
  }
  return rows;
}

/**
 * Runs to time at once on a session of `cfg`: N for a session that runs each run on one
 * thread with N or more lanes at a configuration of N threads, else 1.
 */
export function runsAtOnce(
  cfg: Pick<EngineConfig, "threads">,
  session: Pick<EngineSession, "threads" | "lanes">,
): number {
  return session.threads === 1 && cfg.threads > 1 ? Math.min(cfg.threads, session.lanes ?? 1) : 1;
}
