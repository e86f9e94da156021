/**
 * `deno task build:kernels`: builds the direct engine's kernel library for this platform
 * where the server looks for it (`TINYUNET_KERNELS_DIR`, else the cache folder), so that a
 * server without a C compiler or the permission to run one (the systemd unit, the container
 * image) finds it. Prints its path; exits 1 with the reason when it cannot be built.
 *
 * `deno task build:kernels --wasm`: rebuilds the WebAssembly build kept in the repository
 * (`src/engines/direct/kernels.wasm` and its record, see `wasm_kernels.ts`) after a change to
 * kernels.c. Needs clang with the wasm32 target, wasm-ld and wasi-libc (Debian: `clang lld
 * wasi-libc`; `CC_WASM`, `WASM_LD` and `WASI_SYSROOT` point elsewhere).
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import { buildKernels, KERNELS_SOURCE, runCommand } from "../src/engines/direct/kernels.ts";
import {
  WASM_KERNELS,
  WASM_KERNELS_RECORD,
  type WasmBuildRecord,
  wasmSourceHash,
} from "../src/engines/direct/wasm_kernels.ts";

/** Runs a command; what it printed, or an error with it. */
async function run(cmd: string, args: string[]): Promise<string> {
  const { ok, out } = await runCommand(cmd, args);
  if (!ok) throw new Error(`${cmd} ${args.join(" ")}:\n${out}`);
  return out;
}

/** Builds kernels.wasm and writes its record; returns the record. */
export async function buildWasmKernels(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<WasmBuildRecord> {
  const cc = env.CC_WASM?.trim() || "clang";
  const ld = env.WASM_LD?.trim() || "wasm-ld";
  const root = env.WASI_SYSROOT?.trim();
  const include = root ? `${root}/include` : "/usr/include/wasm32-wasi";
  const lib = root ? `${root}/lib/wasm32-wasi` : "/usr/lib/wasm32-wasi";
  const object = await Deno.makeTempFile({ suffix: ".o" });
  const compile = [
    "--target=wasm32",
    "-O3",
    "-msimd128",
    "-mbulk-memory",
    "-ffreestanding",
    "-nostdlib",
    "-isystem",
    include,
  ];
  const link = [
    "--no-entry",
    "--strip-debug",
    "--export=tu_run",
    "--export=tu_version",
    "--export=__heap_base",
    `-L${lib}`,
    "-lm",
    "-lc",
  ];
  try {
    await run(cc, [...compile, "-c", "-o", object, fromFileUrl(KERNELS_SOURCE)]);
    await run(ld, [...link, "-o", fromFileUrl(WASM_KERNELS), object]);
  } finally {
    await Deno.remove(object).catch(() => {});
  }
  const record: WasmBuildRecord = {
    source: await wasmSourceHash(),
    compiler: (await run(cc, ["--version"])).split("\n")[0].trim(),
    flags: [...compile, ...link],
  };
  await Deno.writeTextFile(WASM_KERNELS_RECORD, JSON.stringify(record, null, 2) + "\n");
  return record;
}

if (import.meta.main) {
  if (Deno.args.includes("--wasm")) {
    try {
      const record = await buildWasmKernels();
      const size = (await Deno.stat(WASM_KERNELS)).size;
      console.log(`built: ${fromFileUrl(WASM_KERNELS)} (${size} bytes, ${record.compiler})`);
    } catch (err) {
      console.error(`build:kernels --wasm: ${(err as Error).message}`);
      Deno.exit(1);
    }
  } else {
    const result = await buildKernels();
    if ("reason" in result) {
      console.error(`build:kernels: ${result.reason}`);
      Deno.exit(1);
    }
    console.log(`${result.built ? "built" : "already built"}: ${result.path}`);
  }
}
