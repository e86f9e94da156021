/**
 * Benchmark settings: the full run (`deno task bench`) and the `--quick` smoke run, plus
 * the command-line flags that adjust them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { RunPlan } from "./stats.ts";
import type { VersusServer } from "./versus.ts";
import { serveV8Flags } from "../lib/serve_command.ts";

/** Everything a run needs to know. */
export interface BenchSettings {
  mode: "full" | "quick";
  /** where results.json and RESULTS.md go */
  outDir: string;
  cacheDir: string;
  /** parts to run */
  parts: Set<Part>;
  nets: "auto" | "builder";
  sizes: number[];
  threads: number[];
  webgpu: boolean;
  webgpuSizes: number[];
  webgpuTeacher: boolean;
  tfjs: boolean;
  plans: { student: RunPlan; teacher: RunPlan; webgpu: RunPlan; kernel: RunPlan };
  hangMs: { student: number; teacher: number };
  warmupSize: number;
  peak: {
    gemmN: number;
    convChannels: number;
    convSize: number;
    directConvChannels: number;
    warmMs: number;
  };
  http: { levels: number[]; durationS: number; warmupS: number; variants: HttpVariant[] };
  /** this server against the FastAPI + PyTorch peer (bench/versus.ts) */
  versus: {
    servers: VersusServer[];
    levels: number[];
    rounds: number;
    durationS: number;
    warmupS: number;
  };
  coldStarts: number;
  /** part `memory` (bench/memory_settings.ts): rounds and wrk timing */
  memory: { rounds: number; durationS: number; warmupS: number };
  /** part `sparse` (bench/sparse.ts): rounds, requests per model and round, pause between them */
  sparse: { rounds: number; requests: number; gapMs: number };
  profile: { runs: number; warmup: number; requests: number };
  /** fp32/int8 through bench/quant_latency.ts */
  quant: { runs: number; warmup: number; threads: number[]; engines: string[] };
  standaloneScripts: boolean;
  /** re-render RESULTS.md from results.json only */
  renderOnly: boolean;
  /** parts not run keep their figures from the results.json already in `outDir` */
  keep: boolean;
}

/** The server run again with other settings, at some levels, for comparison. */
export interface HttpVariant {
  label: string;
  env: Record<string, string>;
  levels: number[];
}

/** The parts of a run, in order. */
export const PARTS = [
  "latency",
  "peak",
  "quant",
  "http",
  "versus",
  "cold",
  "memory",
  "sparse",
  "profile",
  "dicom",
  "scripts",
] as const;
/** One part. */
export type Part = typeof PARTS[number];

/** A variant of our server: the defaults with `env` over them. */
const ours = (id: string, label: string, env: Record<string, string>): VersusServer => ({
  id,
  label,
  kind: "ours",
  env,
});
/** The servers bench/versus.ts compares: ours by default first, the peer last. */
const OURS: VersusServer = {
  id: "ours",
  label:
    "deno task serve (defaults: codec pool, the direct kernels off the HTTP thread, 2 runs at once)",
  kind: "ours",
};
/**
 * onnxruntime's settings below (solo copy, lanes in host Workers) apply to models it runs: with
 * the direct kernels (the default) they change nothing, so they run with onnxruntime's kernels.
 */
const ORT = { TINYUNET_NATIVE_KERNELS: "onnxruntime" };
const OURS_ORT = ours(
  "ours-onnxruntime",
  "ours on onnxruntime's kernels (TINYUNET_NATIVE_KERNELS=onnxruntime: solo copy, lanes in host Workers)",
  ORT,
);
const OURS_NO_SOLO = ours(
  "ours-no-solo",
  "ours on onnxruntime, no solo copy (TINYUNET_SOLO_THREADS=1: a lone request runs on one thread)",
  { ...ORT, TINYUNET_SOLO_THREADS: "1" },
);
const OURS_WORKER_FIRST = ours(
  "ours-worker-first",
  "ours on onnxruntime, first engine lane loaded at start in a host Worker (TINYUNET_LOCAL_FIRST=0)",
  { ...ORT, TINYUNET_LOCAL_FIRST: "0" },
);
const OURS_NO_POOL = ours(
  "ours-no-pool",
  "ours, codecs on the HTTP thread (TINYUNET_WORKERS=0)",
  { TINYUNET_WORKERS: "0" },
);
const OURS_BATCH = ours(
  "ours-batch4",
  "ours, dynamic batching (TINYUNET_MAX_BATCH=4, TINYUNET_BATCH_DELAY_MS=2)",
  { TINYUNET_MAX_BATCH: "4", TINYUNET_BATCH_DELAY_MS: "2" },
);
const OURS_EVENT_LOOP = ours(
  "ours-event-loop",
  "ours, everything on the event loop (TINYUNET_NATIVE_HOST=0, TINYUNET_WORKERS=0)",
  { TINYUNET_NATIVE_HOST: "0", TINYUNET_WORKERS: "0" },
);
const OURS_PARALLEL: VersusServer = {
  id: "ours-parallel",
  label: "ours, deno serve --parallel (DENO_JOBS=2)",
  kind: "ours",
  env: { DENO_JOBS: "2" },
  args: [
    "serve",
    "--parallel",
    "--allow-all",
    ...serveV8Flags(),
    "--host",
    "127.0.0.1",
    "--port",
    "{PORT}",
    "serve.ts",
  ],
};
const OURS_WASM = ours(
  "ours-wasm",
  "ours, TINYUNET_ENGINE=wasm",
  { TINYUNET_ENGINE: "wasm" },
);
const PEER: VersusServer = {
  id: "peer",
  label: "FastAPI + uvicorn + PyTorch (1 torch thread, PIL)",
  kind: "peer",
};

/** Command-line help. */
export const USAGE = `deno task bench [-- options]

  --quick              small smoke run (64² nets, few runs, 1 s HTTP levels, no WebGPU)
  --out DIR            write results.json and RESULTS.md there (default bench/; --quick: bench/.cache/quick)
  --only a,b           run only these parts: ${PARTS.join(", ")}
  --skip a,b           skip these parts
  --nets builder       time builder-made nets even when PyTorch is there
  --no-webgpu          leave WebGPU out
  --webgpu-teacher     also time the teacher on WebGPU (very slow on a software adapter)
  --no-tfjs            leave tfjs-wasm out
  --render             only re-render RESULTS.md from the results.json in --out (no measuring)
  --keep               with --only/--skip: the parts not run keep their figures (and their run's
                       date, shown in RESULTS.md) from the results.json already in --out
  -h, --help           this text`;

/** Parses flags into settings. Returns null for --help. */
export function parseSettings(argv: string[]): BenchSettings | null {
  const { values } = parseArgs({
    args: argv[0] === "--" ? argv.slice(1) : argv,
    options: {
      quick: { type: "boolean" },
      out: { type: "string" },
      only: { type: "string" },
      skip: { type: "string" },
      nets: { type: "string" },
      "no-webgpu": { type: "boolean" },
      "webgpu-teacher": { type: "boolean" },
      "no-tfjs": { type: "boolean" },
      render: { type: "boolean" },
      keep: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return null;
  const list = (v: string | undefined) => (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const p of [...list(values.only), ...list(values.skip)]) {
    if (!(PARTS as readonly string[]).includes(p)) {
      throw new Error(`unknown part "${p}"; parts: ${PARTS.join(", ")}`);
    }
  }
  const only = list(values.only);
  // the DICOM node part (a real Orthanc) and the memory part (eight server starts) run in
  // --quick only when asked with --only
  const defaults = values.quick ? PARTS.filter((p) => p !== "dicom" && p !== "memory") : PARTS;
  const parts = new Set<Part>(
    (only.length ? only : defaults).filter((p) => !list(values.skip).includes(p)) as Part[],
  );
  if (values.nets && values.nets !== "builder" && values.nets !== "auto") {
    throw new Error(`--nets must be builder or auto`);
  }
  const quick = Boolean(values.quick);
  const benchDir = new URL("./", import.meta.url).pathname.replace(/\/$/, "");
  const common = {
    // a quick run never overwrites the committed results
    outDir: values.out ?? (quick ? `${benchDir}/.cache/quick` : benchDir),
    cacheDir: `${benchDir}/.cache`,
    parts,
    nets: (values.nets ?? "auto") as "auto" | "builder",
    threads: [1, 2],
    webgpuTeacher: Boolean(values["webgpu-teacher"]),
    tfjs: !values["no-tfjs"],
    renderOnly: Boolean(values.render),
    keep: Boolean(values.keep),
  };
  if (quick) {
    return {
      ...common,
      mode: "quick",
      sizes: [64],
      webgpu: false,
      webgpuSizes: [],
      plans: {
        student: { warmup: 1, minRuns: 3, maxRuns: 10, budgetMs: 300 },
        teacher: { warmup: 1, minRuns: 2, maxRuns: 3, budgetMs: 500 },
        webgpu: { warmup: 1, minRuns: 2, maxRuns: 3, budgetMs: 500 },
        kernel: { warmup: 1, minRuns: 2, maxRuns: 5, budgetMs: 200 },
      },
      hangMs: { student: 15_000, teacher: 30_000 },
      warmupSize: 32,
      peak: { gemmN: 128, convChannels: 32, convSize: 16, directConvChannels: 16, warmMs: 0 },
      http: { levels: [1, 8, 32], durationS: 1, warmupS: 0.5, variants: [] },
      versus: { servers: [OURS, PEER], levels: [1, 8], rounds: 1, durationS: 2, warmupS: 1 },
      coldStarts: 2,
      memory: { rounds: 1, durationS: 2, warmupS: 1 },
      sparse: { rounds: 1, requests: 3, gapMs: 100 },
      profile: { runs: 5, warmup: 1, requests: 5 },
      quant: { runs: 20, warmup: 1, threads: [1], engines: ["native"] },
      standaloneScripts: false,
    };
  }
  return {
    ...common,
    mode: "full",
    sizes: [256, 512],
    webgpu: !values["no-webgpu"],
    webgpuSizes: [256],
    plans: {
      // the student: ≥ 30 timed runs, up to 300 or 6 s
      student: { warmup: 3, minRuns: 30, maxRuns: 300, budgetMs: 6_000 },
      // the teacher: ≥ 3 timed runs, then stop at 20 runs or once 20 s have passed
      teacher: { warmup: 1, minRuns: 3, maxRuns: 20, budgetMs: 20_000 },
      webgpu: { warmup: 2, minRuns: 5, maxRuns: 30, budgetMs: 20_000 },
      kernel: { warmup: 2, minRuns: 5, maxRuns: 50, budgetMs: 3_000 },
    },
    hangMs: { student: 30_000, teacher: 300_000 },
    warmupSize: 64,
    peak: { gemmN: 1024, convChannels: 256, convSize: 64, directConvChannels: 64, warmMs: 1000 },
    http: {
      levels: [1, 8, 32],
      durationS: 10,
      warmupS: 2,
      // one intra-op thread leaves the other core to the JS thread (decode, encode, HTTP)
      variants: [{ label: "TINYUNET_THREADS=1", env: { TINYUNET_THREADS: "1" }, levels: [1, 8] }],
    },
    versus: {
      servers: [
        OURS,
        OURS_ORT,
        OURS_NO_SOLO,
        OURS_WORKER_FIRST,
        OURS_NO_POOL,
        OURS_BATCH,
        OURS_EVENT_LOOP,
        OURS_PARALLEL,
        OURS_WASM,
        PEER,
      ],
      levels: [1, 8],
      rounds: 2,
      durationS: 8,
      warmupS: 2,
    },
    coldStarts: 7,
    memory: { rounds: 2, durationS: 8, warmupS: 2 },
    sparse: { rounds: 2, requests: 10, gapMs: 300 },
    profile: { runs: 100, warmup: 10, requests: 50 },
    quant: { runs: 100, warmup: 5, threads: [1, 2], engines: ["native", "wasm", "tfjs-wasm"] },
    standaloneScripts: true,
  };
}
