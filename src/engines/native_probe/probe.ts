/**
 * Probes the native engine (onnxruntime-node) in a child process before the server
 * commits to it: the child (`child.ts`) loads the add-on, runs a tiny model and prints
 * its output; this side compares it with the known answer (`reference.ts`). A crash (a
 * segmentation fault in the add-on, as onnxruntime-node's arm64 build does under
 * qemu-user), a non-zero exit, a hang past the timeout or a wrong answer make the probe
 * fail with a reason, and `auto` falls back to WASM instead of dying with the add-on.
 *
 * The result is cached per host (target, hostname, kernel release), Deno version and
 * onnxruntime-node package (version, binding file size and time), so only the first start
 * on a host pays for the child (~0.3 s on x86). Hangs are not cached (a busy host may be
 * slow once). Settings, all optional:
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `TINYUNET_NATIVE_PROBE` | cached | `cached`: probe once per host + version; `always`: probe at every start; `off`: no child, load the add-on in-process (a crash takes the server down) |
 * | `TINYUNET_NATIVE_PROBE_TIMEOUT_MS` | 60000 | a probe child running longer counts as hung |
 * | `TINYUNET_NATIVE_PROBE_CACHE` | `$CACHE_DIRECTORY` (systemd), else `$XDG_CACHE_HOME/tinyunet-edge`, else `~/.cache/tinyunet-edge` | folder of the cached results (this probe's, and what each model's graph says: `src/onnx/inspect_cache.ts`), or `off` |
 * | `TINYUNET_EMULATOR` | none | command prefix to start the child with, e.g. `qemu-aarch64-static -L /usr/aarch64-linux-gnu` when an arm64 Deno runs under qemu-user without binfmt (tests) |
 * | `TINYUNET_NATIVE_PROBE_MODULE` | none | a module replacing onnxruntime-node in the child (the tests' crashing add-ons) |
 *
 * @module
 */
import { cacheFolder, writeCacheFile } from "../../cache_folder.ts";
import { addonFiles } from "./addon.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROBE_TOLERANCE, probeError } from "./reference.ts";

const MODES = ["cached", "always", "off"] as const;
/** How the probe runs. */
export type NativeProbeMode = typeof MODES[number];

/** How a probe ended. */
export type NativeProbeOutcome = "ok" | "crashed" | "exited" | "hung" | "wrong-answer";

/** Probe settings (see the module doc for the environment variables). */
export interface NativeProbeOptions {
  mode: NativeProbeMode;
  timeoutMs: number;
  /** folder for cached results; null = no cache */
  cacheDir: string | null;
  /** command prefix for the child (an emulator) */
  launcher: string[];
  /** a module replacing onnxruntime-node in the child */
  module?: string;
}

/** A probe's verdict. */
export interface NativeProbeResult {
  ok: boolean;
  outcome: NativeProbeOutcome;
  /** one line for logs and `/v1/models` */
  reason: string;
  /** whether this came from the cache rather than a child run now */
  cached: boolean;
  /** when the child ran (ISO time) */
  probedAt: string;
  /** how long the child ran */
  ms: number;
}

const PROTOCOL = 1;
/** The child reads the add-on and its environment and loads native code; nothing else. */
const CHILD_PERMISSIONS = ["--allow-read", "--allow-env", "--allow-ffi", "--allow-sys"];
const CHILD = fileURLToPath(new URL("./child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** Reads probe settings from an environment map. */
export function nativeProbeOptions(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): NativeProbeOptions {
  const rawMode = (env.TINYUNET_NATIVE_PROBE ?? "").trim().toLowerCase() || "cached";
  const mode = MODES.find((m) => m === rawMode);
  if (!mode) {
    throw new Error(`TINYUNET_NATIVE_PROBE=${rawMode}: expected ${MODES.join(", ")}`);
  }
  const rawTimeout = env.TINYUNET_NATIVE_PROBE_TIMEOUT_MS;
  const timeoutMs = rawTimeout ? Number(rawTimeout) : 60_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 100) {
    throw new Error(`TINYUNET_NATIVE_PROBE_TIMEOUT_MS=${rawTimeout} is not a number ≥ 100`);
  }
  return {
    mode,
    timeoutMs,
    cacheDir: cacheFolder(env),
    launcher: (env.TINYUNET_EMULATOR ?? "").split(/\s+/).filter(Boolean),
    module: env.TINYUNET_NATIVE_PROBE_MODULE || undefined,
  };
}

/** What identifies the add-on on this host: its package version and binding file. */
function addonIdentity(): string {
  try {
    const files = addonFiles();
    const binding = safeStat(files.binding);
    return `onnxruntime-node ${files.version} ${binding?.size ?? "-"} ${
      binding?.mtime?.getTime() ?? "-"
    }`;
  } catch (err) {
    return `onnxruntime-node unresolved (${(err as Error).message.split("\n")[0]})`;
  }
}

function safeStat(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch {
    return null;
  }
}

/** The cache key's parts: host, runtime and add-on. */
export function probeKey(options: NativeProbeOptions): string {
  let host = "unknown-host";
  try {
    host = `${Deno.hostname()} ${Deno.osRelease()}`;
  } catch { /* no sys permission: the key just says so */ }
  return [
    `probe v${PROTOCOL}`,
    Deno.build.target,
    `deno ${Deno.version.deno}`,
    host,
    addonIdentity(),
    options.module ? `module ${options.module}` : "",
  ].join(" | ");
}

/**
 * The cache file for this key: named by the first 8 bytes of its SHA-256 (`node:crypto`'s
 * synchronous hash, so the start-up prewarm can read the verdict while modules are evaluated);
 * the entry stores the key itself, and an entry with another key counts as a miss.
 */
export function probeCacheFile(
  options: NativeProbeOptions,
  key: string = probeKey(options),
): string | null {
  if (!options.cacheDir) return null;
  const hex = createHash("sha256").update(key).digest("hex").slice(0, 16);
  return join(options.cacheDir, `native-probe-${hex}.json`);
}

function readCache(file: string, key: string): NativeProbeResult | null {
  try {
    const value = JSON.parse(Deno.readTextFileSync(file));
    if (typeof value?.ok !== "boolean" || typeof value?.reason !== "string") return null;
    if (value.key !== key) return null;
    const { key: _, ...result } = value;
    return { ...result, cached: true };
  } catch {
    return null;
  }
}

/** The cached verdict for this host and add-on, if any (synchronous; never throws). */
export function cachedProbe(
  options: NativeProbeOptions,
  key: string = probeKey(options),
): NativeProbeResult | null {
  const file = probeCacheFile(options, key);
  return file ? readCache(file, key) : null;
}

/** A read-only cache only costs a probe at the next start. */
async function writeCache(file: string, result: NativeProbeResult, key: string): Promise<void> {
  await writeCacheFile(file, JSON.stringify({ ...result, key }, null, 2) + "\n");
}

/**
 * Probes the native engine (from the cache when allowed).
 * Never throws: every failure is a result with a reason.
 */
export async function probeNative(options: NativeProbeOptions): Promise<NativeProbeResult> {
  const key = probeKey(options);
  const hit = options.mode === "cached" ? cachedProbe(options, key) : null;
  if (hit) return hit;
  const file = probeCacheFile(options, key);
  const result = await runChild(options);
  if (file && result.outcome !== "hung") await writeCache(file, result, key);
  return result;
}

/**
 * The Deno to start: the `deno` on PATH when it is this very binary (a link, say), since
 * `--allow-run=deno` grants exactly that path; else this binary's own path.
 */
function denoCommand(): string {
  const self = Deno.execPath();
  try {
    const real = Deno.realPathSync(self);
    for (const dir of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
      try {
        if (Deno.realPathSync(join(dir, "deno")) === real) return join(dir, "deno");
      } catch { /* not in this folder */ }
    }
  } catch { /* no read or env permission: use the path as is */ }
  return self;
}

/** Runs the probe child once and judges it. */
export async function runChild(options: NativeProbeOptions): Promise<NativeProbeResult> {
  const probedAt = new Date().toISOString();
  const started = performance.now();
  const done = (ok: boolean, outcome: NativeProbeOutcome, reason: string): NativeProbeResult => ({
    ok,
    outcome,
    reason,
    cached: false,
    probedAt,
    ms: Math.round(performance.now() - started),
  });
  const [cmd, ...prefix] = [...options.launcher, denoCommand()];
  const env: Record<string, string> = { NO_COLOR: "1", ONNXRUNTIME_NODE_INSTALL: "skip" };
  if (options.module) env.TINYUNET_NATIVE_PROBE_MODULE = options.module;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args: [...prefix, "run", ...CHILD_PERMISSIONS, "--quiet", CHILD],
      cwd: ROOT,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    const hint = err instanceof Deno.errors.NotCapable
      ? ` (grant --allow-run=deno, or set TINYUNET_NATIVE_PROBE=off to load the add-on unprobed)`
      : "";
    return done(
      false,
      "exited",
      `native probe child could not start: ${(err as Error).message.split("\n")[0]}${hint}`,
    );
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, options.timeoutMs);
  const { code, signal, stdout, stderr } = await child.output().finally(() => clearTimeout(timer));
  const errTail = lastMessage(new TextDecoder().decode(stderr));
  const tail = errTail ? `: ${errTail}` : "";
  if (timedOut) {
    return done(false, "hung", `native probe did not finish within ${options.timeoutMs} ms`);
  }
  if (signal) return done(false, "crashed", `native probe crashed (${signal})${tail}`);
  if (code !== 0) {
    // qemu-user reports a guest's fatal signal as 128 + signal number after its message.
    const crashed = code > 128 || /signal|segmentation fault/i.test(errTail);
    return done(
      false,
      crashed ? "crashed" : "exited",
      `native probe ${crashed ? "crashed" : "failed"} (exit code ${code})${tail}`,
    );
  }
  let answer: { output?: unknown; version?: unknown };
  try {
    answer = JSON.parse(lastLine(new TextDecoder().decode(stdout), Infinity));
  } catch {
    return done(false, "exited", `native probe printed no answer${tail}`);
  }
  const output = Array.isArray(answer.output) ? answer.output.map(Number) : [];
  const error = probeError(output);
  const version = String(answer.version ?? "unknown");
  if (!(error <= PROBE_TOLERANCE)) {
    return done(
      false,
      "wrong-answer",
      `native probe gave a wrong answer (onnxruntime-node ${version}: max |error| ${
        Number.isFinite(error) ? error.toExponential(2) : "∞ (no or misshaped output)"
      } > ${PROBE_TOLERANCE})`,
    );
  }
  return done(
    true,
    "ok",
    `native probe passed (onnxruntime-node ${version}, max |error| ${error.toExponential(1)})`,
  );
}

/** The error message in a child's stderr (Deno's `error: …` line), else its last line. */
function lastMessage(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const error = lines.findLast((l) => /^error:|segmentation fault|signal/i.test(l));
  return (error ?? lines.at(-1) ?? "").slice(0, 300);
}

function lastLine(text: string, maxChars = 300): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? "").slice(0, maxChars);
}
