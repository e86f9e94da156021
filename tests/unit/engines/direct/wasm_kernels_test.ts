/**
 * The kept WebAssembly build of the kernels: built from the source as it is now, self-contained,
 * and refusing a workspace past wasm32's memory before allocating it. (Its results against
 * onnxruntime: runner_test.ts.)
 */
import assert from "node:assert/strict";
import {
  WASM_KERNELS,
  WASM_KERNELS_RECORD,
  type WasmBuildRecord,
  wasmKernels,
  wasmSourceHash,
} from "../../../../src/engines/direct/wasm_kernels.ts";
import type { DirectProgram } from "../../../../src/engines/direct/program.ts";

Deno.test("kernels.wasm was built from kernels.c as it is now", async () => {
  const record: WasmBuildRecord = JSON.parse(await Deno.readTextFile(WASM_KERNELS_RECORD));
  assert.equal(
    record.source,
    await wasmSourceHash(),
    "kernels.c changed since kernels.wasm was built: run `deno task build:kernels --wasm`",
  );
});

Deno.test("kernels.wasm imports nothing and exports the run, its version and its heap start", async () => {
  const module = await WebAssembly.compile(await Deno.readFile(WASM_KERNELS));
  assert.deepEqual(WebAssembly.Module.imports(module), []);
  const exports = WebAssembly.Module.exports(module).map((e) => e.name).sort();
  assert.deepEqual(exports, ["__heap_base", "memory", "tu_run", "tu_version"]);
});

Deno.test("a WebAssembly workspace past 4 GiB is refused before its memory grows", async () => {
  const build = await wasmKernels();
  assert.ok(build.ok, build.ok ? "" : build.reason);
  const program: DirectProgram = {
    code: new Int32Array(12),
    count: 1,
    workFloats: 2 ** 30 + 1,
    input: [3, 8, 8],
    output: [1, 8, 8],
  };
  assert.throws(
    () => build.kernels.workspace(program, new Float32Array(4)),
    /needs \d+ bytes, past WebAssembly's 4 GiB/,
  );
});
