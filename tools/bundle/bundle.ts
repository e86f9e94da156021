/**
 * Lays out a self-contained TinyUnet Edge bundle for a Linux box of another (or the same)
 * architecture, from this machine: the server's source, a `deno.json` limited to the
 * packages the server imports, their `node_modules` (onnxruntime-node's binaries pruned
 * to the target's platform), Deno's npm metadata for them (so the box needs no network),
 * the models, the target's Deno binary (from npm: `@deno/linux-<arch>-glibc`, the same
 * version as this Deno) and `start.sh`.
 *
 * npm packages are platform-neutral JavaScript except onnxruntime-node, which ships every
 * platform's add-on in one package, so the `node_modules` that this machine's Deno
 * installs serves an arm64 box once the other platforms' binaries are removed.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serveV8Flags } from "../../lib/serve_command.ts";

/** Target CPU architectures (npm's names). */
export type BundleArch = "arm64" | "x64";

/** Options of {@link makeBundle}. */
export interface BundleOptions {
  arch: BundleArch;
  out: string;
  /** model repository to copy (default: the shipped `models/`) */
  models?: string;
  /** a Deno binary for the target to use instead of fetching it from npm */
  deno?: string;
  /** where fetched Deno packages are kept between runs */
  cacheDir?: string;
  /** progress lines */
  log?: (line: string) => void;
}

/** What {@link makeBundle} wrote (also in the bundle's `bundle.json`). */
export interface BundleManifest {
  arch: BundleArch;
  deno: string;
  packages: string[];
  models: string[];
  created: string;
  commit: string | null;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Modules the server starts: the entries, and every module `src/` names by URL (workers, the probe child). */
export function entryPoints(root = ROOT): string[] {
  const found = new Set(["main.ts", "serve.ts"]);
  const pattern = /new URL\(\s*["'](\.{1,2}\/[^"']+\.ts)["']\s*,\s*import\.meta\.url\s*\)/g;
  const visit = (dir: string) => {
    for (const e of Deno.readDirSync(join(root, dir))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) visit(path);
      else if (path.endsWith(".ts")) {
        for (const m of Deno.readTextFileSync(join(root, path)).matchAll(pattern)) {
          const target = join(dirname(path), m[1]);
          if (existsSync(join(root, target))) found.add(target);
        }
      }
    }
  };
  visit("src");
  return [...found].sort();
}
/** Files and folders of the server itself. */
const SOURCE = ["main.ts", "serve.ts", "mod.ts", "src", "deno.lock", "README.md"];

/** The host's architecture in npm's names. */
export function hostArch(): BundleArch {
  return Deno.build.arch === "aarch64" ? "arm64" : "x64";
}

/** Bare import specifiers used by the server's source (`src/` and the entry files). */
export function serverImports(root = ROOT): Set<string> {
  const found = new Set<string>();
  const pattern = /(?:from\s*|import\s*\(\s*)["']([^"'./][^"']*)["']/g;
  const visit = (path: string) => {
    const info = Deno.statSync(path);
    if (info.isDirectory) {
      for (const e of Deno.readDirSync(path)) visit(join(path, e.name));
    } else if (/\.(ts|js|mjs)$/.test(path)) {
      for (const m of Deno.readTextFileSync(path).matchAll(pattern)) found.add(m[1]);
    }
  };
  for (const entry of ["main.ts", "serve.ts", "mod.ts", "src"]) visit(join(root, entry));
  return found;
}

/** The import map entries the server needs (by the bare specifiers it uses). */
export function serverImportMap(
  imports: Record<string, string>,
  used: Set<string>,
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(imports)) {
    const needed = key.endsWith("/") ? [...used].some((s) => s.startsWith(key)) : used.has(key) ||
      // `pkg/sub` resolves through `pkg` unless the map names it or has a `pkg/` entry
      [...used].some((s) => s.startsWith(`${key}/`) && !(s in imports) && !(`${key}/` in imports));
    if (needed) kept[key] = value;
  }
  return kept;
}

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, cwd, env, stdin: "null" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}): ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The target's Deno binary: `@deno/linux-<arch>-glibc@<this Deno's version>` from npm. */
export async function fetchDeno(arch: BundleArch, cacheDir: string): Promise<string> {
  const version = Deno.version.deno;
  const dir = join(cacheDir, `deno-linux-${arch}-glibc-${version}`);
  const binary = join(dir, "package", "deno");
  if (existsSync(binary)) return binary;
  await Deno.mkdir(dir, { recursive: true });
  const tgz = (await run("npm", [
    "pack",
    "--silent",
    `@deno/linux-${arch}-glibc@${version}`,
  ], dir)).trim().split("\n").at(-1)!;
  await run("tar", ["xzf", tgz, "package/deno"], dir);
  await Deno.remove(join(dir, tgz));
  return binary;
}

async function copyTree(from: string, to: string) {
  await Deno.mkdir(dirname(to), { recursive: true });
  await run("cp", ["-a", from, to], ROOT);
}

/** Removes onnxruntime-node's binaries of other platforms. */
async function pruneNativeBinaries(nodeModules: string, arch: BundleArch): Promise<string[]> {
  const removed: string[] = [];
  const store = join(nodeModules, ".deno");
  for (const entry of Deno.readDirSync(store)) {
    if (!entry.name.startsWith("onnxruntime-node@")) continue;
    const napi = join(store, entry.name, "node_modules", "onnxruntime-node", "bin", "napi-v6");
    if (!existsSync(napi)) continue;
    for (const os of Deno.readDirSync(napi)) {
      for (const cpu of Deno.readDirSync(join(napi, os.name))) {
        if (os.name === "linux" && cpu.name === arch) continue;
        await Deno.remove(join(napi, os.name, cpu.name), { recursive: true });
        removed.push(`${os.name}/${cpu.name}`);
      }
    }
  }
  return removed;
}

/** Copies Deno's npm metadata (`registry.json`) for the installed packages. */
async function copyNpmMetadata(nodeModules: string, denoDir: string): Promise<void> {
  const source = join(denoInfoDir(), "npm", "registry.npmjs.org");
  for (const entry of Deno.readDirSync(join(nodeModules, ".deno"))) {
    const at = entry.name.lastIndexOf("@");
    if (at <= 0) continue;
    const name = entry.name.slice(0, at).replace("+", "/");
    const from = join(source, name, "registry.json");
    if (!existsSync(from)) continue;
    const to = join(denoDir, "npm", "registry.npmjs.org", name, "registry.json");
    await Deno.mkdir(dirname(to), { recursive: true });
    await Deno.copyFile(from, to);
  }
}

function denoInfoDir(): string {
  const out = new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).outputSync();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/** The bundle's start.sh: the serve task's command (its V8 flags included), from the bundle. */
export const startScript = (arch: BundleArch, v8Flags: string[] = serveV8Flags()) =>
  `#!/bin/sh
# Starts TinyUnet Edge from this bundle (linux-${arch}, made by \`deno task bundle\`).
# Settings come from the environment as usual (PORT, TINYUNET_ENGINE, ...); the models
# default to the bundle's. TINYUNET_EMULATOR prefixes the Deno command (e.g.
# "qemu-aarch64-static -L /usr/aarch64-linux-gnu" to try an arm64 bundle on x86).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export DENO_DIR="\${DENO_DIR:-$here/deno_dir}"
export DENO_NO_UPDATE_CHECK=1 ONNXRUNTIME_NODE_INSTALL=skip
export TINYUNET_MODELS="\${TINYUNET_MODELS:-$here/models}"
cd "$here"
exec \${TINYUNET_EMULATOR:-} "$here/bin/deno" run --allow-all --cached-only --node-modules-dir=manual ${
    v8Flags.join(" ")
  } main.ts "$@"
`;

/** Writes the bundle; `out` must not exist or be empty. */
export async function makeBundle(options: BundleOptions): Promise<BundleManifest> {
  const log = options.log ?? (() => {});
  const out = options.out;
  if (existsSync(out) && [...Deno.readDirSync(out)].length > 0) {
    throw new Error(`${out} exists and is not empty`);
  }
  await Deno.mkdir(out, { recursive: true });

  log("source");
  for (const item of SOURCE) await copyTree(join(ROOT, item), join(out, item));
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const imports = serverImportMap(config.imports, serverImports());
  const bundleConfig = {
    nodeModulesDir: "auto",
    unstable: config.unstable,
    tasks: { serve: config.tasks.serve },
    imports,
  };
  await Deno.writeTextFile(join(out, "deno.json"), JSON.stringify(bundleConfig, null, 2) + "\n");

  log("models");
  const models = options.models ?? join(ROOT, "models");
  await copyTree(models, join(out, "models"));

  log("node_modules (deno install)");
  await run(Deno.execPath(), ["install", "--quiet"], out, {
    ONNXRUNTIME_NODE_INSTALL: "skip",
    NO_COLOR: "1",
  });
  const nodeModules = join(out, "node_modules");
  const removed = await pruneNativeBinaries(nodeModules, options.arch);
  log(`pruned onnxruntime-node binaries: ${removed.join(", ") || "none"}`);
  await copyNpmMetadata(nodeModules, join(out, "deno_dir"));
  // Transpiled TypeScript is the same on every architecture: compile it here, not on the box.
  log("transpile (deno cache)");
  await run(Deno.execPath(), ["cache", "--quiet", ...entryPoints()], out, {
    DENO_DIR: join(out, "deno_dir"),
    NO_COLOR: "1",
  });

  log("deno binary");
  const cacheDir = options.cacheDir ?? join(
    Deno.env.get("XDG_CACHE_HOME") ??
      join(Deno.env.get("HOME") ?? "/tmp", ".cache"),
    "tinyunet-edge",
  );
  const denoBinary = options.deno ?? await fetchDeno(options.arch, cacheDir);
  await Deno.mkdir(join(out, "bin"), { recursive: true });
  await Deno.copyFile(denoBinary, join(out, "bin", "deno"));
  await Deno.chmod(join(out, "bin", "deno"), 0o755);

  await Deno.writeTextFile(join(out, "start.sh"), startScript(options.arch));
  await Deno.chmod(join(out, "start.sh"), 0o755);

  const manifest: BundleManifest = {
    arch: options.arch,
    deno: Deno.version.deno,
    packages: Object.values(imports).map((v) => v.replace(/^npm:\/?/, "")),
    models: [...Deno.readDirSync(join(out, "models"))].filter((e) => e.isDirectory).map((e) =>
      e.name
    ).sort(),
    created: new Date().toISOString(),
    commit: gitCommit(),
  };
  await Deno.writeTextFile(join(out, "bundle.json"), JSON.stringify(manifest, null, 2) + "\n");
  log(`done: ${out}`);
  return manifest;
}

function gitCommit(): string | null {
  try {
    const out = new Deno.Command("git", { args: ["rev-parse", "HEAD"], cwd: ROOT }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}
