/**
 * The one tfjs-core + tfjs-backend-wasm runtime of this process, started on first use.
 *
 * tfjs is a process-wide singleton: every tfjs-wasm session shares this backend, its WASM
 * heap and its tensor registry. Its `.wasm` binaries are read from the installed npm
 * package (`node_modules/@tensorflow/tfjs-backend-wasm/dist/`) by file URL, never fetched.
 * Under Deno the backend picks the SIMD build and runs single-threaded (Deno offers no
 * cross-origin-isolated SharedArrayBuffer workers to emscripten's pthreads).
 *
 * @module
 */
import type * as TfCore from "@tensorflow/tfjs-core";

/** The tfjs-core namespace. */
export type Tf = typeof TfCore;

/** The started backend and what it loaded. */
export interface TfjsRuntime {
  tf: Tf;
  /** whether the SIMD build is in use */
  simd: boolean;
  /** threads the backend runs (1 without the threaded build) */
  threads: number;
  /** the `.wasm` file instantiated (an absolute file URL) */
  wasmFile: string;
  /** its size in bytes */
  wasmBytes: number;
  /** tfjs-backend-wasm version */
  version: string;
}

let started: Promise<TfjsRuntime> | undefined;

/** The folder holding the package's `.wasm` files, as a file URL. */
export function wasmDirectory(): URL {
  return new URL("./", import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
}

async function start(): Promise<TfjsRuntime> {
  const tf = await import("@tensorflow/tfjs-core");
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const dir = wasmDirectory();
  wasm.setWasmPaths(dir.href);
  tf.env().set("PROD", true);
  if (!(await tf.setBackend("wasm"))) throw new Error("tfjs could not start its wasm backend");
  await tf.ready();
  const simd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  const threaded = Boolean(await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"));
  const name = simd && threaded
    ? "tfjs-backend-wasm-threaded-simd.wasm"
    : simd
    ? "tfjs-backend-wasm-simd.wasm"
    : "tfjs-backend-wasm.wasm";
  const wasmFile = new URL(name, dir);
  const wasmBytes = (await Deno.stat(wasmFile)).size;
  return {
    tf,
    simd,
    threads: threaded ? wasm.getThreadsCount() : 1,
    wasmFile: wasmFile.href,
    wasmBytes,
    version: wasm.version_wasm,
  };
}

/**
 * Starts tfjs with the wasm backend once; later calls share it.
 * @returns the runtime
 * @throws {Error} when WebAssembly or the package's `.wasm` file is missing
 */
export function loadTfjs(): Promise<TfjsRuntime> {
  started ??= start();
  return started;
}
