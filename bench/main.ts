/**
 * `deno task bench [-- --quick]`: the paper's claims and the engines, measured side by side
 * in one run, written to `bench/results.json` and `bench/RESULTS.md`.
 *
 * Parts (each can be picked with --only/--skip): latency (student vs teacher on every
 * engine), peak (machine and engine limits), quant (fp32 vs int8), http (autocannon vs the
 * real server), cold (cold start), memory (memory settings now vs before, RSS idle, after
 * load and around a 30 MB V2 tensor), sparse (requests one at a time with pauses, the native
 * arena on and off), profile (stage breakdown), scripts (the standalone
 * scripts beside this one). Progress goes to stderr; a part that fails is recorded and the
 * run goes on.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { buildKernels } from "../src/engines/direct/kernels.ts";
import { useServerAllocator } from "./allocator.ts";
import { coldStart } from "./cold_start.ts";
import { sparseRequests } from "./sparse.ts";
import { dicomNodeLatency } from "./dicom_node.ts";
import { memorySettings } from "./memory_settings.ts";
import { runStandaloneScripts } from "./scripts.ts";
import { engineConfigs } from "./engines.ts";
import { countFlops } from "./flops.ts";
import { httpLoad } from "./http_load.ts";
import { latencyMatrix } from "./latency.ts";
import { busiestProcesses, cpuInfo, loadSample, machineInfo } from "./machine.ts";
import { type BenchNet, prepareNets } from "./models.ts";
import { enginePeaks, flopPerCycle, runProbe } from "./peak.ts";
import { httpProfile, stageProfile } from "./profile.ts";
import { progress } from "./progress.ts";
import { QUANT_LATENCY, quantBench } from "./quant.ts";
import { renderMarkdown } from "./report.ts";
import type { BenchResults, NetReport } from "./results.ts";
import { serverMemory, startServer } from "./server.ts";
import { type BenchSettings, parseSettings, type Part, USAGE } from "./settings.ts";
import { shippedModelUrl } from "../lib/shipped_models.ts";
import { round } from "./stats.ts";
import { evaluateTargets } from "./targets.ts";
import { versus } from "./versus.ts";

const ROOT = new URL("../", import.meta.url);
/** The real sample the HTTP parts send (256×192 RGB dermoscopy, ISIC 2017). */
export const SAMPLE_IMAGE = "tests/fixtures/images/isic_ISIC_0000011.png";

if (!Deno.env.get("ONNXRUNTIME_NODE_INSTALL")) Deno.env.set("ONNXRUNTIME_NODE_INSTALL", "skip");

function netReport(net: BenchNet, sizes: number[]): NetReport {
  const flops: NetReport["flops"] = {};
  for (const s of sizes) {
    const { layers: _layers, ...rest } = countFlops(net.bytes, { image: [1, 3, s, s] });
    flops[s] = rest;
  }
  return {
    role: net.role,
    width: net.width,
    file: net.path.replace(ROOT.pathname, ""),
    file_bytes: net.file_bytes,
    params_onnx: net.params_onnx,
    params_torch: net.params_torch,
    flops,
    flops_torch: net.flops_torch,
  };
}

/** The default model the server reports (`GET /v1/models`), if it says. */
async function defaultModel(url: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/v1/models`);
    const j = await res.json();
    return j.default_model ?? j.default ?? null;
  } catch {
    return null;
  }
}

/** The parts' fields in the results. */
const PART_FIELDS = {
  latency: "latency",
  peak: "peak",
  quant: "quant",
  http: "http",
  versus: "versus",
  cold: "cold_start",
  memory: "memory",
  sparse: "sparse",
  profile: "profile",
  dicom: "dicom_node",
  scripts: "scripts",
} as const satisfies Record<Part, keyof BenchResults>;

/** The results.json already in `dir`, if any. */
async function readPrevious(dir: string): Promise<BenchResults | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/results.json`)) as BenchResults;
  } catch {
    return null;
  }
}

/** Copies the figures of the parts this run leaves out from an earlier run, noting its date. */
export function carryOver(results: BenchResults, previous: BenchResults, running: Set<Part>) {
  const carried: Partial<Record<Part, string>> = {};
  const copy = <K extends keyof BenchResults>(field: K) => (results[field] = previous[field]);
  for (const [part, field] of Object.entries(PART_FIELDS) as [Part, keyof BenchResults][]) {
    if (running.has(part) || previous[field] == null) continue;
    copy(field);
    carried[part] = previous.carried?.[part] ?? previous.started_at;
  }
  results.carried = carried;
}

/** Runs the benchmark with `settings`; returns the results (also written to disk). */
export async function runBench(
  settings: BenchSettings,
  argv: string[] = [],
): Promise<BenchResults> {
  const t0 = performance.now();
  const start = loadSample("start");
  const samples = [start];
  const mark = (label: string) => samples.push(loadSample(label));
  progress(
    `TinyUnet Edge benchmark (${settings.mode}); parts: ${[...settings.parts].join(", ")}; load ${
      start.loadavg.join(" ")
    } on ${navigator.hardwareConcurrency} CPUs`,
  );
  const errors: BenchResults["errors"] = [];
  const guard = async <T>(part: Part, fn: () => Promise<T>): Promise<T | null> => {
    if (!settings.parts.has(part)) return null;
    mark(part);
    try {
      return await fn();
    } catch (err) {
      progress(`${part} FAILED: ${(err as Error).message}`);
      errors.push({ part, error: String((err as Error)?.stack ?? err).slice(0, 2000) });
      return null;
    }
  };

  // engines run in this process (latency, peak) meet the allocator as the server's do
  progress(useServerAllocator());
  const machine = await machineInfo(ROOT);
  const nets = await prepareNets({
    cacheDir: settings.cacheDir,
    builderOnly: settings.nets === "builder",
  });
  const student = netReport(nets.student, settings.sizes);
  const teacher = netReport(nets.teacher, settings.sizes);
  const flopsOf = (r: NetReport) =>
    Object.fromEntries(settings.sizes.map((s) => [s, r.flops[s].flops]));
  const engines = await engineConfigs({
    webgpu: settings.webgpu,
    tfjs: settings.tfjs,
    threads: settings.threads,
  });
  progress(
    `engines: ${engines.map((e) => `${e.id}${e.available ? "" : " (unavailable)"}`).join(", ")}`,
  );

  const results: BenchResults = {
    schema: 1,
    mode: settings.mode,
    started_at: start.at,
    finished_at: "",
    duration_s: 0,
    command: `deno task bench${argv.length ? " -- " + argv.join(" ") : ""}`,
    machine,
    load: {
      nproc: navigator.hardwareConcurrency,
      start,
      end: null,
      samples,
      busiest_at_start: busiestProcesses(),
      busiest_at_end: [],
    },
    plans: { ...settings.plans },
    nets: {
      source: nets.source,
      note: nets.note,
      torch_version: nets.torch_version,
      onnx_version: nets.onnx_version,
      student,
      teacher,
      param_reduction_percent: round(100 * (1 - student.params_onnx / teacher.params_onnx), 2),
      flop_ratio: Object.fromEntries(
        settings.sizes.map((s) => [s, round(teacher.flops[s].flops / student.flops[s].flops, 1)]),
      ),
    },
    engines,
    latency: null,
    peak: null,
    quant: null,
    http: null,
    versus: null,
    cold_start: null,
    profile: null,
    scripts: null,
    targets: [],
    errors,
  };
  const previous = settings.keep ? await readPrevious(settings.outDir) : null;
  const save = async () => {
    // the parts left out (each part's step sets its field, null when not run)
    if (previous) carryOver(results, previous, settings.parts);
    results.finished_at = new Date().toISOString();
    results.duration_s = round((performance.now() - t0) / 1000, 1);
    results.targets = evaluateTargets(
      results,
      settings.sizes.includes(256) ? 256 : settings.sizes[0],
    );
    await Deno.mkdir(settings.outDir, { recursive: true });
    await Deno.writeTextFile(
      `${settings.outDir}/results.json`,
      JSON.stringify(results, null, 1) + "\n",
    );
    await Deno.writeTextFile(`${settings.outDir}/RESULTS.md`, renderMarkdown(results));
  };

  results.latency = await guard("latency", async () => {
    const m = await latencyMatrix(nets, engines, {
      sizes: settings.sizes,
      plans: { student: settings.plans.student, teacher: settings.plans.teacher },
      webgpuPlan: settings.plans.webgpu,
      webgpuSizes: settings.webgpuSizes,
      webgpuTeacher: settings.webgpuTeacher,
      hangMs: settings.hangMs,
      flops: { student: flopsOf(student), teacher: flopsOf(teacher) },
      warmupSize: settings.warmupSize,
    });
    return { sizes: settings.sizes, ...m };
  });
  await save();

  results.peak = await guard("peak", async () => {
    const cpu = cpuInfo();
    const probe = await runProbe(
      settings.cacheDir,
      settings.mode === "quick",
      `${cpu.model} ${cpu.family} ${cpu.model_number} ${cpu.simd_flags.join(",")}`,
    );
    const fpc = flopPerCycle(cpu);
    const clock = probe.clock_ghz ?? (cpu.nominal_mhz ? cpu.nominal_mhz / 1000 : null);
    const theoretical = fpc && clock
      ? {
        flop_per_cycle: fpc.value,
        basis: fpc.basis,
        clock_ghz: round(clock, 3),
        clock_source: probe.clock_ghz
          ? "measured by peak_probe.c (dependent adds per thread-CPU second)"
          : `${cpu.nominal_mhz_source} (nominal)`,
        per_core_gflops: round(fpc.value * clock, 1),
        all_cores_gflops: round(fpc.value * clock * navigator.hardwareConcurrency, 1),
      }
      : null;
    const kernels = await enginePeaks(engines, {
      ...settings.peak,
      floorSize: settings.sizes[0],
      student: { bytes: nets.student.bytes, flops: student.flops[settings.sizes[0]].flops },
      plan: settings.plans.kernel,
    });
    return { probe, theoretical, kernels, student_size: settings.sizes[0] };
  });
  await save();

  results.quant = await guard("quant", () => quantBench(engines, settings.quant));
  await save();

  const body = await Deno.readFile(new URL(SAMPLE_IMAGE, ROOT));
  results.http = await guard("http", async () => {
    progress("http: starting the server (deno task serve's command)");
    const server = await startServer();
    try {
      const before = serverMemory(server);
      const levels = await httpLoad(server, {
        levels: settings.http.levels,
        durationS: settings.http.durationS,
        warmupS: settings.http.warmupS,
        body,
        path: "/v1/segment",
      });
      const end = serverMemory(server);
      const defaultName = await defaultModel(server.url);
      await server.stop();
      const variants = [];
      for (const v of settings.http.variants) {
        progress(`http: server variant ${v.label}`);
        const vs = await startServer({ env: v.env });
        try {
          const vl = await httpLoad(vs, {
            levels: v.levels,
            durationS: settings.http.durationS,
            warmupS: settings.http.warmupS,
            body,
            path: "/v1/segment",
          });
          variants.push({
            label: v.label,
            env: v.env,
            server_runtime: vs.runtime,
            levels: vl,
            hwm_end_mib: serverMemory(vs).hwm_mib,
          });
        } finally {
          await vs.stop();
        }
      }
      return {
        server_runtime: server.runtime,
        default_model: defaultName,
        path: "POST /v1/segment (Content-Type: image/png, raw body; PNG mask response)",
        image: SAMPLE_IMAGE,
        image_bytes: body.length,
        rss_before_mib: before.rss_mib,
        rss_after_warmup_mib: levels[0]?.rss_after_mib ?? null,
        rss_end_mib: end.rss_mib,
        hwm_end_mib: end.hwm_mib,
        levels,
        server_log_lines: server.logLines(),
        variants,
      };
    } finally {
      await server.stop();
    }
  });
  await save();

  results.versus = await guard("versus", () =>
    versus({
      ...settings.versus,
      image: SAMPLE_IMAGE,
      peerModelDir: shippedModelUrl("isic2017").pathname,
    }));
  await save();

  results.cold_start = await guard("cold", () => coldStart(settings.coldStarts));
  await save();

  results.memory = await guard(
    "memory",
    () => memorySettings({ ...settings.memory, image: SAMPLE_IMAGE }),
  );
  await save();

  results.sparse = await guard("sparse", () => sparseRequests(settings.sparse));
  await save();

  results.profile = await guard("profile", async () => {
    const stages = await stageProfile(body, settings.profile.runs, settings.profile.warmup);
    const server = await startServer();
    try {
      return {
        stages,
        http: await httpProfile(server, body, settings.profile.requests, settings.profile.warmup),
      };
    } finally {
      await server.stop();
    }
  });
  await save();

  results.dicom_node = await guard("dicom", () => {
    progress("dicom: a real Orthanc and the server's DIMSE listener");
    return dicomNodeLatency(settings.mode === "quick" ? 5 : 30, 3);
  });
  await save();

  const usedByQuant = results.quant?.measured_by.startsWith(QUANT_LATENCY) ? [QUANT_LATENCY] : [];
  if (settings.standaloneScripts) {
    results.scripts = await guard("scripts", () => runStandaloneScripts(600_000, usedByQuant));
  }
  results.load.end = loadSample("end");
  results.load.busiest_at_end = busiestProcesses();
  samples.push(results.load.end);
  await save();
  progress(
    `done in ${results.duration_s} s → ${settings.outDir}/results.json, RESULTS.md; load ${
      results.load.end.loadavg.join(" ")
    }`,
  );
  return results;
}

if (import.meta.main) {
  let settings: BenchSettings | null;
  try {
    settings = parseSettings(Deno.args);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  if (!settings) {
    console.log(USAGE);
    Deno.exit(0);
  }
  // the direct kernels, built ahead as `deno task setup` does: the servers and engines below
  // find them (the deployed command may not run a compiler)
  const kernels = await buildKernels();
  if ("reason" in kernels) {
    progress(`direct kernels: ${kernels.reason} (onnxruntime runs every model)`);
  }
  if (!existsSync(new URL(SAMPLE_IMAGE, ROOT))) {
    console.error(`bench: ${SAMPLE_IMAGE} is missing`);
    Deno.exit(1);
  }
  if (settings.renderOnly) {
    const saved = JSON.parse(await Deno.readTextFile(`${settings.outDir}/results.json`));
    // the goals are read again from the figures (their rules may have changed since)
    saved.targets = evaluateTargets(saved, saved.mode === "quick" ? 64 : 256);
    await Deno.writeTextFile(
      `${settings.outDir}/results.json`,
      JSON.stringify(saved, null, 1) + "\n",
    );
    await Deno.writeTextFile(`${settings.outDir}/RESULTS.md`, renderMarkdown(saved));
    console.error(`re-rendered ${settings.outDir}/RESULTS.md from results.json`);
    Deno.exit(0);
  }
  const results = await runBench(settings, Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args);
  // engines leave worker threads and native thread pools behind: end explicitly
  Deno.exit(results.errors.length ? 1 : 0);
}
