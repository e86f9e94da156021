/**
 * The direct engine's kernel library: `kernels.c` compiled by the host's C compiler (`CC`,
 * else `cc`) once per source and platform into `TINYUNET_KERNELS_DIR` or the cache folder
 * (`cache_folder.ts`; a temporary folder when there is none), and opened with Deno's FFI.
 * `deno task build:kernels` (and `deno task setup`) builds it ahead of the first start (a
 * build takes ~5 s: the kernels at three vector widths on x86-64); a start that finds none
 * builds it then. Without a build, a compiler or the permission to run one there is no
 * library, and onnxruntime runs every model, as the reason (in the model's notes) says.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { cacheFolder } from "../../cache_folder.ts";
import type { DirectProgram } from "./program.ts";
import type { KernelsChoice, KernelWorkspace } from "./runner.ts";
import { startRun } from "./split.ts";

/** The library's interface version (`tu_version` in kernels.c). */
export const KERNELS_VERSION = 2;

const RUN_AT_ONE_WIDTH = {
  parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer"],
  result: "i32",
  optional: true,
} as const;

const SYMBOLS = {
  tu_version: { parameters: [], result: "i32" },
  /** the widest kernels this CPU runs: 4 AVX-512, 3 AVX2, 1 SSE2; 0 for a one-width build */
  tu_level: { parameters: [], result: "i32" },
  /** prog, count, work, weights, input, output → 0 or 1 + a bad instruction's index */
  tu_run: { parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  /**
   * the same on a thread of Deno's blocking pool (the calling isolate's event loop runs on;
   * a build without threads)
   */
  tu_run_off: {
    name: "tu_run",
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  /**
   * the same (split: on two threads, each instruction's rows halved) on one of the library's
   * run threads, the one that last ran this workspace first (this one of the blocking pool
   * waits for it); absent from a build without threads
   */
  tu_run_pooled_off: {
    name: "tu_run_pooled",
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
    nonblocking: true,
    optional: true,
  },
  /** what the library's threads did (absent from a build without threads) */
  tu_run_counts: { parameters: ["buffer"], result: "i32", optional: true },
  /**
   * x86-64: a split run held to one width (4, 3, 1), on the calling thread and the helper;
   * -1 above what the CPU runs (tests)
   */
  tu_run_split_at: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
    optional: true,
  },
  /** x86-64: one vector width each (AVX-512, AVX2, SSE2), for tests and measurements */
  tu_run_v4: RUN_AT_ONE_WIDTH,
  tu_run_v3: RUN_AT_ONE_WIDTH,
  tu_run_v1: RUN_AT_ONE_WIDTH,
} as const;

/** The opened library. */
export type KernelLibrary = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The library, or why there is none. */
export type KernelsLoad = { ok: true; symbols: KernelLibrary; path: string } | {
  ok: false;
  reason: string;
};

/** The kernels' C source. */
export const KERNELS_SOURCE = new URL("./kernels.c", import.meta.url);

/** Two 32-bit FNV-1a hashes of the text as 16 hex digits (a file name, not a security check). */
export function fnv64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let a = 0x811c9dc5, b = 0x050c5d1f;
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i], 0x01000193);
    b = Math.imul(b ^ bytes[i], 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** Runs a command; whether it succeeded and what it printed. */
export async function runCommand(
  cmd: string,
  args: string[],
): Promise<{ ok: boolean; out: string }> {
  const result = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  return {
    ok: result.success,
    out: (text.decode(result.stdout) + text.decode(result.stderr)).trim(),
  };
}

/**
 * Where the library for this source and platform lives: `TINYUNET_KERNELS_DIR`, else the
 * cache folder, else a temporary folder. Its name comes from the source and the platform
 * only (the build is portable within it), so a library built ahead (`deno task
 * build:kernels`, the container image's build stage) is found where no compiler is.
 */
export function kernelLibraryPath(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): string {
  sourceKey ??= fnv64(
    `${Deno.readTextFileSync(KERNELS_SOURCE)}\n${Deno.build.target}\n${BUILD_FLAGS.join(" ")}`,
  );
  const key = sourceKey;
  const folder = env.TINYUNET_KERNELS_DIR?.trim() || cacheFolder(env) || privateTempFolder();
  return join(folder, `${PREFIX}${key}.so`);
}

let sourceKey: string | undefined;

/**
 * The build's flags (part of its name, so a change rebuilds): `-z nodelete` keeps the library
 * loaded once opened, so its threads (the run threads, the split runs' helper) never outlive
 * its code (an isolate that
 * ends closes its libraries; the next to open the same file finds the helper as it was).
 */
const BUILD_FLAGS = ["-O3", "-shared", "-fPIC", "-pthread", "-Wl,-z,nodelete"];
/** The plain fallback build's: one width, no threads, no split runs. */
const PLAIN_FLAGS = ["-DTU_NO_CLONES", "-DTU_NO_THREADS", "-O3", "-shared", "-fPIC"];

/** This platform's builds are named `direct-kernels-<target>-<key>.so`. */
const PREFIX = `direct-kernels-${Deno.build.target}-`;

let tempFolder: string | undefined;
/** No cache folder: a fresh folder of this process's own (a shared /tmp path could be planted). */
function privateTempFolder(): string {
  tempFolder ??= Deno.makeTempDirSync({ prefix: "tinyunet-kernels-" });
  return tempFolder;
}

/** Whether this platform's library is built where the server looks (no build, no compiler). */
export function kernelsBuilt(env?: Record<string, string | undefined>): boolean {
  try {
    return Deno.statSync(kernelLibraryPath(env)).isFile;
  } catch {
    return false;
  }
}

/**
 * Builds the library with `CC` (else `cc`) unless it is already there: with the instruction-set
 * widths where the platform has them (x86-64), else with one (`TU_NO_CLONES`).
 * @returns the library's path, or why there is none
 */
export async function buildKernels(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<{ path: string; built: boolean } | { reason: string }> {
  const path = kernelLibraryPath(env);
  try {
    await Deno.stat(path);
    return { path, built: false };
  } catch {
    // not built yet
  }
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
  } catch (err) {
    return { reason: `cannot make ${dirname(path)} for them: ${(err as Error).message}` };
  }
  const compiler = env.CC?.trim() || "cc";
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const out = ["-o", tmp, fromFileUrl(KERNELS_SOURCE), "-lm"];
    let cc = await runCommand(compiler, [...BUILD_FLAGS, ...out]);
    if (!cc.ok) {
      // a compiler without the target pragmas or threads
      const plain = await runCommand(compiler, [...PLAIN_FLAGS, ...out]);
      if (!plain.ok) {
        return { reason: `${compiler} could not build kernels.c: ${cc.out.slice(0, 400)}` };
      }
      cc = plain;
    }
    await Deno.rename(tmp, path);
    await pruneOldBuilds(path);
    return { path, built: true };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { reason: `no C compiler (${compiler}) to build them, and no build at ${path}` };
    }
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return {
        reason: `not allowed to run ${compiler} to build them, and no build at ${path} ` +
          "(build them ahead with `deno task build:kernels`, again after an upgrade)",
      };
    }
    return { reason: `the kernels could not be built: ${(err as Error).message}` };
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

/** A build of another source for this platform unused this long is removed (an old server's). */
const STALE_MS = 24 * 3600_000;

/** Removes the folder's stale builds of other sources for this platform; best effort. */
async function pruneOldBuilds(keep: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(dirname(keep))) {
      const file = join(dirname(keep), e.name);
      if (!e.name.startsWith(PREFIX) || !e.name.endsWith(".so") || file === keep) continue;
      const used = (await Deno.stat(file)).atime ?? new Date(0);
      if (Date.now() - used.getTime() > STALE_MS) await Deno.remove(file).catch(() => {});
    }
  } catch {
    // an unreadable folder keeps them
  }
}

let loading: Promise<KernelsLoad> | undefined;

/** This isolate's kernel library (built first when needed), or why there is none. */
export function directKernels(): Promise<KernelsLoad> {
  loading ??= (async (): Promise<KernelsLoad> => {
    const built = await buildKernels().catch((err) => ({ reason: (err as Error).message }));
    if ("reason" in built) return { ok: false, reason: built.reason };
    try {
      const lib = Deno.dlopen(built.path, SYMBOLS);
      const version = lib.symbols.tu_version();
      if (version !== KERNELS_VERSION) {
        lib.close();
        return { ok: false, reason: `${built.path} is version ${version}, not ${KERNELS_VERSION}` };
      }
      return { ok: true, symbols: lib.symbols, path: built.path };
    } catch (err) {
      return {
        ok: false,
        reason: `the kernel library cannot be opened: ${(err as Error).message}`,
      };
    }
  })();
  return loading;
}

/** x86-64 vector widths the library can be held to: AVX-512, AVX2, SSE2. */
export type KernelWidth = "v4" | "v3" | "v1";
const LEVEL: Record<KernelWidth, number> = { v4: 4, v3: 3, v1: 1 };

/** The widths this library runs on this CPU (none for a one-width build). */
export async function kernelWidths(): Promise<KernelWidth[]> {
  const library = await directKernels();
  if (!library.ok) return [];
  const level = library.symbols.tu_level();
  return (["v4", "v3", "v1"] as const).filter((w) => LEVEL[w] <= level);
}

/** What the kernel library's threads did in this process (all isolates). */
export interface RunThreadCounts {
  /** run threads started (at most 16) */
  threads: number;
  /** runs on them */
  onRunThread: number;
  /** runs on the calling thread of Deno's pool: all run threads busy */
  onCaller: number;
  /** runs on the thread that last ran their workspace */
  sameThread: number;
  /** split runs' helper threads started: 0 or 1 (the library stays loaded) */
  splitHelpers: number;
  /** split runs on two threads */
  splitOnTwo: number;
  /** split runs on one: another split run was going, or no helper could be started */
  splitOnOne: number;
}

/** What the run threads did so far; null without a library or without threads. */
export async function runThreadCounts(): Promise<RunThreadCounts | null> {
  const library = await directKernels();
  if (!library.ok || !library.symbols.tu_run_counts) return null;
  const out = new Int32Array(7);
  library.symbols.tu_run_counts(out);
  return {
    threads: out[0],
    onRunThread: out[1],
    onCaller: out[2],
    sameThread: out[3],
    splitHelpers: out[4],
    splitOnTwo: out[5],
    splitOnOne: out[6],
  };
}

/** A run's arguments: program, its count, workspace, weights, input, output. */
type RunArgs = readonly [
  Int32Array,
  number,
  Float32Array,
  Float32Array,
  Float32Array,
  Float32Array,
];

/** The run held to `width` (split: with the helper), where the library has it. */
function heldToWidth(
  lib: KernelLibrary,
  width: KernelWidth,
  split: boolean,
): ((...args: RunArgs) => number) | null {
  const one = lib[`tu_run_${width}`];
  const splitAt = lib.tu_run_split_at;
  if (!split) return one;
  return splitAt && ((...args: RunArgs) => splitAt(...args, LEVEL[width]));
}

/** Options of {@link nativeKernels}. */
export interface NativeKernelOptions {
  /**
   * run on one of the library's run threads (the calling isolate's event loop runs meanwhile:
   * for a runner on the HTTP isolate) instead of on the calling thread
   */
  offThread: boolean;
  /**
   * off the thread: a run that starts alone may take two threads (`tu_run_split`; when:
   * `split.ts`); others one
   */
  split?: boolean;
  /**
   * x86-64: run at this vector width on the calling thread (split: with the split runs'
   * helper, every run); tests and measurements; refused above what the CPU runs
   */
  width?: KernelWidth;
}

/**
 * This platform's library as the direct runner's kernel build: each workspace a Float32Array,
 * each run one foreign call.
 */
export async function nativeKernels(
  { offThread, split = false, width }: NativeKernelOptions,
): Promise<KernelsChoice> {
  const library = await directKernels();
  if (!library.ok) return library;
  const lib = library.symbols;
  const fixed = width ? heldToWidth(lib, width, split) : undefined;
  if (width && (!fixed || LEVEL[width] > lib.tu_level())) {
    return {
      ok: false,
      reason: lib.tu_level() === 0
        ? "this build has one vector width (not x86-64, or built with TU_NO_CLONES)"
        : `this CPU does not run the ${width} kernels (its widest: v${lib.tu_level()})`,
    };
  }
  // a call's arguments, held until it returns (another thread reads them meanwhile)
  const inFlight = new Set<readonly unknown[]>();
  return {
    ok: true,
    kernels: {
      workspace(program: DirectProgram, weights: Float32Array): KernelWorkspace {
        const work = new Float32Array(program.workFloats);
        return {
          async run(input, output) {
            const args = [program.code, program.count, work, weights, input, output] as const;
            if (fixed) return fixed(...args);
            if (!offThread) return lib.tu_run(...args);
            const pooled = lib.tu_run_pooled_off;
            const run = startRun(program, split && pooled !== null);
            inFlight.add(args);
            let finished = false;
            try {
              const status =
                await (pooled ? pooled(...args, run.two ? 1 : 0) : lib.tu_run_off(...args));
              finished = true;
              return status;
            } finally {
              run.end(finished);
              inFlight.delete(args);
            }
          },
        };
      },
    },
  };
}
