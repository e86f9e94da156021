/**
 * The machine and software a run measured: CPU (model, family, SIMD flags, nominal clock),
 * cores, memory, OS, Deno/V8, pinned package versions, git commit, and the system load
 * (so readers can judge how noisy the numbers are).
 *
 * @module
 */
import os from "node:os";
import { cpuSeconds } from "./memory.ts";

/** CPU facts read from /proc/cpuinfo (Linux; fields are null elsewhere). */
export interface CpuInfo {
  model: string;
  vendor: string | null;
  family: number | null;
  model_number: number | null;
  /** cores the OS reports (`navigator.hardwareConcurrency`, the same as `nproc` here) */
  logical_cpus: number;
  /** SIMD-related flags present */
  simd_flags: string[];
  /** nominal clock in MHz: "cpu MHz", else BogoMIPS / 2 (the TSC rate on x86) */
  nominal_mhz: number | null;
  nominal_mhz_source: string | null;
  hypervisor: boolean;
  l2_kib_per_core: number | null;
  l3_kib: number | null;
}

/** Load averages (1, 5, 15 minutes) at one moment. */
export interface LoadSample {
  at: string;
  loadavg: number[];
  /** what the benchmark was about to do */
  label: string;
}

const SIMD_FLAGS = [
  "sse4_2",
  "avx",
  "avx2",
  "fma",
  "avx512f",
  "avx512bw",
  "avx512vl",
  "avx512_vnni",
  "avx512_bf16",
  "amx_tile",
  "asimd",
  "sve",
];

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

function cacheKib(index: number): number | null {
  const size = readText(`/sys/devices/system/cpu/cpu0/cache/index${index}/size`)?.trim();
  if (!size) return null;
  const m = size.match(/^(\d+)([KM])$/);
  return m ? Number(m[1]) * (m[2] === "M" ? 1024 : 1) : null;
}

/** Reads the CPU description. */
export function cpuInfo(): CpuInfo {
  const text = readText("/proc/cpuinfo") ?? "";
  const field = (name: string) =>
    text.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim() ?? null;
  const flags = (field("flags") ?? field("Features") ?? "").split(/\s+/);
  const mhz = field("cpu MHz");
  const bogo = field("bogomips") ?? field("BogoMIPS");
  const family = field("cpu family");
  const model = field("model");
  return {
    model: field("model name") ?? field("Model") ?? os.cpus()[0]?.model ?? "unknown",
    vendor: field("vendor_id"),
    family: family === null ? null : Number(family),
    model_number: model === null || !/^\d+$/.test(model) ? null : Number(model),
    logical_cpus: navigator.hardwareConcurrency,
    simd_flags: SIMD_FLAGS.filter((f) => flags.includes(f)),
    nominal_mhz: mhz ? Number(mhz) : bogo && flags.includes("tsc") ? Number(bogo) / 2 : null,
    nominal_mhz_source: mhz
      ? "/proc/cpuinfo cpu MHz"
      : bogo && flags.includes("tsc")
      ? "BogoMIPS / 2 (TSC rate)"
      : null,
    hypervisor: flags.includes("hypervisor"),
    l2_kib_per_core: cacheKib(2),
    l3_kib: cacheKib(3),
  };
}

/** Exact versions pinned in deno.json's import map (`npm:name@version`). */
export async function pinnedVersions(root: URL): Promise<Record<string, string>> {
  const json = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(json.imports ?? {}) as [string, string][]) {
    const m = spec.match(/^npm:\/?(@?[^@]+)@([^/]+)/);
    if (m && !name.endsWith("/")) out[m[1]] = m[2];
  }
  return out;
}

function git(root: URL, args: string[]): string | null {
  try {
    const out = new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "null" })
      .outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** Everything about the host and software that a reader needs to reproduce a run. */
export async function machineInfo(root: URL) {
  const pins = await pinnedVersions(root);
  const status = git(root, ["status", "--porcelain", "--untracked-files=no"]);
  return {
    cpu: cpuInfo(),
    nproc: navigator.hardwareConcurrency,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    versions: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      "onnxruntime-node": pins["onnxruntime-node"] ?? null,
      "onnxruntime-web": pins["onnxruntime-web"] ?? null,
      "@tensorflow/tfjs-backend-wasm": pins["@tensorflow/tfjs-backend-wasm"] ?? null,
      hono: pins["hono"] ?? null,
      autocannon: pins["autocannon"] ?? null,
    } as Record<string, string | null>,
    git: {
      commit: git(root, ["rev-parse", "HEAD"]),
      tracked_changes: status === null ? null : status.length > 0,
    },
  };
}

/** The load averages now, labelled. */
export function loadSample(label: string): LoadSample {
  return {
    at: new Date().toISOString(),
    loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100),
    label,
  };
}

/** A process and its CPU use (`ps` %CPU: CPU time over its lifetime). */
export interface BusyProcess {
  pid: number;
  cpu_percent: number;
  command: string;
}

/** Processes using the most CPU (from `ps`), to name what shared the machine. */
export function busiestProcesses(limit = 5): BusyProcess[] {
  try {
    const out = new Deno.Command("ps", {
      args: ["-eo", "pid,pcpu,args", "--sort=-pcpu", "--no-headers"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (!out.success) return [];
    return new TextDecoder().decode(out.stdout).trim().split("\n").slice(0, limit).map((line) => {
      const [pid, cpu, ...cmd] = line.trim().split(/\s+/);
      return { pid: Number(pid), cpu_percent: Number(cpu), command: cmd.join(" ").slice(0, 120) };
    });
  } catch {
    return [];
  }
}

/**
 * Waits until this process is quiet (under 10 % of a core over a 250 ms window) or `maxMs`
 * has passed; returns how long it waited. Opening a session can leave work running in the
 * background for seconds — V8 optimising a freshly compiled WebAssembly module (onnxruntime-web's is
 * 14 MB), a Worker ending — which would otherwise be timed as the next configuration's.
 */
export async function settleCpu(maxMs = 15_000): Promise<number> {
  const t0 = performance.now();
  // all this process's threads: Workers, V8's compiler threads
  const start = cpuSeconds(Deno.pid);
  if (start === null) return 0;
  let before: number = start;
  while (performance.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 250));
    const now: number = cpuSeconds(Deno.pid) ?? before;
    if (now - before < 0.025) break;
    before = now;
  }
  return Math.round(performance.now() - t0);
}
