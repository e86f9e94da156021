/**
 * Prometheus's standard process metrics, under the names every client library's process
 * collector uses (`process_resident_memory_bytes`, `process_cpu_seconds_total`,
 * `process_open_fds`, `process_max_fds`, `process_start_time_seconds`), plus the engine host
 * Workers alive now and the HTTP isolate's V8 heap: what an operator watches to see the
 * server's memory settle after load. prom-client's own collector reads Node internals that
 * Deno lacks, so they are read here (`Deno.memoryUsage`, `node:process`, glibc's `getrlimit`
 * and /proc/self/fd listed through glibc).
 *
 * @module
 */
import process from "node:process";
import { Counter, Gauge, type Registry } from "./prom.ts";
import { liveHosts } from "../engines/engine_host.ts";
import { openFilesLimit } from "./fd_limit.ts";
import { keeperState } from "../memory/keeper.ts";
import { libc } from "../libc.ts";

/** Minor and major page faults of the process so far (`getrusage`), else null. */
function pageFaults(): { minor: number; major: number } | null {
  try {
    const { minorPageFault: minor, majorPageFault: major } = process.resourceUsage();
    return Number.isFinite(minor) && Number.isFinite(major) ? { minor, major } : null;
  } catch {
    return null;
  }
}

/** The folder listed for {@link openFds}, as a C string. */
const FD_DIR = new TextEncoder().encode("/proc/self/fd\0");

/**
 * Open file descriptors (the entries of /proc/self/fd, Linux; the listing's own included, as
 * other process collectors count it), else null; `readdir` ends on an error as at the end, so a
 * failing listing may undercount (null when not even "." and ".." were read). Listed with
 * glibc's `opendir`/`readdir` (`libc.ts`): Deno's file API lets only `--allow-all` read
 * /proc/self, so the deployed command (scoped permissions) reported none.
 */
function openFds(): number | null {
  const { lib } = libc();
  if (!lib) return null;
  const dir = lib.symbols.opendir(FD_DIR);
  if (dir === null) return null;
  try {
    let entries = 0;
    while (lib.symbols.readdir(dir) !== null) entries++;
    return entries >= 2 ? entries - 2 : null; // "." and ".."
  } finally {
    lib.symbols.closedir(dir);
  }
}

/** Registers the process metrics on `registers`. */
export function registerProcessMetrics(registers: Registry[]): void {
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes",
    registers,
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  new Counter({
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds (all threads)",
    registers,
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  const fds = [
    ["process_open_fds", "Number of open file descriptors (Linux)", openFds],
    [
      "process_max_fds",
      "Maximum number of open file descriptors (the soft limit; Linux)",
      openFilesLimit,
    ],
  ] as const;
  for (const [name, help, read] of fds) {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const value = read();
        if (value !== null) this.set(value);
      },
    });
  }
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds",
    registers,
  }).set(Math.round(performance.timeOrigin) / 1000);
  new Counter({
    name: "tinyunet_page_faults_total",
    help:
      "Page faults of the process (all threads; Linux): minor ones are memory touched afresh, each costly on a VM",
    labelNames: ["kind"],
    registers,
    collect() {
      const faults = pageFaults();
      if (!faults) return;
      this.reset();
      this.inc({ kind: "minor" }, faults.minor);
      this.inc({ kind: "major" }, faults.major);
    },
  });
  new Counter({
    name: "tinyunet_allocator_trims_total",
    help:
      "Times the memory keeper gave the allocator's freed memory back to the system (0 without a keeper)",
    registers,
    collect() {
      this.reset();
      this.inc(keeperState()?.trims ?? 0);
    },
  });
  new Gauge({
    name: "tinyunet_heap_used_bytes",
    help: "V8 heap in use by the HTTP isolate (Workers not counted)",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: "tinyunet_heap_total_bytes",
    help: "V8 heap reserved by the HTTP isolate, used or not (Workers not counted)",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapTotal);
    },
  });
  new Gauge({
    name: "tinyunet_engine_host_workers",
    help:
      "Engine host Workers alive now, by runtime (native local first: 0 while idle, up when runs overlap)",
    labelNames: ["backend"],
    registers,
    collect() {
      this.reset();
      for (const backend of ["native", "wasm", "webgpu", "direct-wasm"]) this.set({ backend }, 0);
      for (const h of liveHosts()) this.inc({ backend: h.backend });
    },
  });
}
