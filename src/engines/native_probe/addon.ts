/**
 * Where onnxruntime-node's files are on this host: its package version, the N-API binding
 * and the onnxruntime shared library beside it (`bin/napi-v6/<os>/<arch>/`). The probe's
 * cache key names them (`probe.ts`); the start-up prewarm opens the library (`prewarm.ts`).
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** onnxruntime-node's files for this platform. */
export interface AddonFiles {
  version: string;
  /** the N-API binding (`onnxruntime_binding.node`) */
  binding: string;
  /** onnxruntime's shared library beside it (Linux: `libonnxruntime.so.1`) */
  library: string;
}

/**
 * Resolves onnxruntime-node as the server imports it.
 * @throws {Error} where the package cannot be resolved or read
 */
export function addonFiles(): AddonFiles {
  const require = createRequire(join(ROOT, "main.ts"));
  let dir = dirname(require.resolve("onnxruntime-node"));
  while (dir !== dirname(dir) && !exists(join(dir, "package.json"))) dir = dirname(dir);
  const pkg = JSON.parse(Deno.readTextFileSync(join(dir, "package.json")));
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  // the package's folders use Node's platform names
  const platform = Deno.build.os === "windows" ? "win32" : Deno.build.os;
  const bin = join(dir, "bin", "napi-v6", platform, arch);
  const library = Deno.build.os === "darwin"
    ? `libonnxruntime.${pkg.version}.dylib`
    : Deno.build.os === "windows"
    ? "onnxruntime.dll"
    : "libonnxruntime.so.1";
  return {
    version: String(pkg.version),
    binding: join(bin, "onnxruntime_binding.node"),
    library: join(bin, library),
  };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
