/**
 * The direct engine's kernels for WebAssembly: `kernels.c` built by clang for wasm32 with
 * SIMD128 (4 floats a vector), kept beside the source as `kernels.wasm` (15 KiB, no imports)
 * with the hash of the source it was built from in `kernels.wasm.json`, so that runtimes
 * without a C compiler — the wasm engine's Workers, an edge function, a browser — run it.
 * `deno task build:kernels --wasm` rebuilds it (clang ≥ 14, wasm-ld, wasi-libc for `expf`);
 * a test fails when the build is older than the source.
 *
 * Each workspace is an instance of its own (the compiled module is shared): its memory holds
 * the program, the weights, the workspace, one image and its output, laid out once, so a run
 * copies the image in, makes one call and copies the output out, and a dropped workspace
 * gives its memory back with its instance (a wasm memory never shrinks).
 *
 * @module
 */
import { fnv64, KERNELS_SOURCE, KERNELS_VERSION } from "./kernels.ts";
import type { DirectProgram } from "./program.ts";
import type { KernelsChoice, KernelWorkspace } from "./runner.ts";

/** The WebAssembly build and its record. */
export const WASM_KERNELS = new URL("./kernels.wasm", import.meta.url);
export const WASM_KERNELS_RECORD = new URL("./kernels.wasm.json", import.meta.url);

/** What `kernels.wasm.json` records of the build. */
export interface WasmBuildRecord {
  /** `fnv64` of kernels.c's text when it was built */
  source: string;
  /** the compiler's version line */
  compiler: string;
  /** the compile and link commands' arguments */
  flags: string[];
}

/** The hash a build record must carry for the source as it is now. */
export async function wasmSourceHash(): Promise<string> {
  return fnv64(await readText(KERNELS_SOURCE));
}

interface Exports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  tu_version(): number;
  tu_run(
    prog: number,
    count: number,
    work: number,
    weights: number,
    input: number,
    output: number,
  ): number;
}

const PAGE = 65536;
/** wasm32 addresses memory with 32 bits. */
const MAX_BYTES = 2 ** 32 - PAGE;

const align = (n: number) => Math.ceil(n / 64) * 64;

/** One program's instance, laid out as the module doc says. */
function wasmWorkspace(
  module: WebAssembly.Module,
  program: DirectProgram,
  weights: Float32Array,
): KernelWorkspace {
  const ex = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  let end = align(ex.__heap_base.value as number);
  const place = (bytes: number) => {
    const at = end;
    end = align(end + bytes);
    return at;
  };
  const [ic, ih, iw] = program.input;
  const [oc, oh, ow] = program.output;
  const code = place(program.code.byteLength);
  const weightsAt = place(weights.byteLength);
  const work = place(program.workFloats * 4);
  const input = place(ic * ih * iw * 4);
  const output = place(oc * oh * ow * 4);
  if (end > MAX_BYTES) {
    throw new RangeError(`a ${ih}×${iw} input needs ${end} bytes, past WebAssembly's 4 GiB`);
  }
  const grow = Math.ceil((end - ex.memory.buffer.byteLength) / PAGE);
  if (grow > 0) ex.memory.grow(grow);
  const buffer = ex.memory.buffer; // fixed from here: the memory grows no more
  new Int32Array(buffer, code, program.code.length).set(program.code);
  new Float32Array(buffer, weightsAt, weights.length).set(weights);
  const inView = new Float32Array(buffer, input, ic * ih * iw);
  const outView = new Float32Array(buffer, output, oc * oh * ow);
  return {
    run(image, mask) {
      inView.set(image);
      const status = ex.tu_run(code, program.count, work, weightsAt, input, output);
      mask.set(outView);
      return status;
    },
  };
}

let loading: Promise<KernelsChoice> | undefined;

/** This isolate's WebAssembly kernels (compiled once), or why there are none. */
export function wasmKernels(): Promise<KernelsChoice> {
  loading ??= (async (): Promise<KernelsChoice> => {
    try {
      const module = await WebAssembly.compile(await readBytes(WASM_KERNELS));
      const probe = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
      const version = probe.tu_version();
      if (version !== KERNELS_VERSION) {
        return { ok: false, reason: `kernels.wasm is version ${version}, not ${KERNELS_VERSION}` };
      }
      return {
        ok: true,
        kernels: { workspace: (program, weights) => wasmWorkspace(module, program, weights) },
      };
    } catch (err) {
      loading = undefined; // a fetch that failed may work the next time
      return { ok: false, reason: `kernels.wasm cannot be used: ${(err as Error).message}` };
    }
  })();
  return loading;
}

async function readBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === "file:") return await Deno.readFile(url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function readText(url: URL): Promise<string> {
  return new TextDecoder().decode(await readBytes(url));
}
