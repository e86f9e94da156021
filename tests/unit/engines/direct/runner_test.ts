/**
 * The direct engine against onnxruntime, on both kernel builds (the native library, on and
 * off the calling thread, and the WebAssembly one): the same logits (to float rounding) for
 * random U-Nets of several widths, sizes (widths not a multiple of the vector), batches and
 * with BatchNormalization, and for the four shipped students; runs that overlap keep apart.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { seededRandom, unetModel } from "../../../../lib/onnx_builder.ts";
import {
  DirectRunner,
  directRunner,
  WORKSPACE_IDLE_MS,
} from "../../../../src/engines/direct/runner.ts";
import {
  type KernelWidth,
  kernelWidths,
  nativeKernels,
} from "../../../../src/engines/direct/kernels.ts";
import { SPLIT_QUIET_MS, splitRuns } from "../../../../src/engines/direct/split.ts";
import { wasmKernels } from "../../../../src/engines/direct/wasm_kernels.ts";
import type { Tensor } from "../../../../src/engines/engine.ts";

const root = new URL("../../../../", import.meta.url).pathname;

/**
 * The kernel builds: native on the calling thread, native off it, native off it with each run
 * split over two threads (every run here starts alone), on x86-64 also held to the AVX2 and
 * SSE2 widths where the CPU runs them (it may pick AVX-512), and WebAssembly.
 */
type Build =
  | "native"
  | "native off-thread"
  | "native split"
  | "native AVX2"
  | "native SSE2"
  | "wasm";
// the widths this CPU runs (x86-64; none elsewhere)
const widths = await kernelWidths();
const BUILDS: Build[] = [
  "native",
  "native off-thread",
  "native split",
  ...(widths.includes("v3") ? ["native AVX2"] as const : []),
  ...(widths.includes("v1") ? ["native SSE2"] as const : []),
  "wasm",
];
const WIDTHS: Partial<Record<Build, KernelWidth>> = { "native AVX2": "v3", "native SSE2": "v1" };

/** The model on a kernel build (the test fails with the reason when it is not). */
async function load(bytes: Uint8Array, build: Build): Promise<DirectRunner> {
  const kernels = build === "wasm" ? wasmKernels : () =>
    nativeKernels({
      offThread: build === "native off-thread" || build === "native split",
      split: build === "native split",
      width: WIDTHS[build],
    });
  const runner = await directRunner(bytes, [], kernels);
  assert.ok(runner instanceof DirectRunner, "reason" in runner ? runner.reason : "");
  return runner;
}

function image(n: number, c: number, h: number, w: number, seed: number): Tensor {
  const random = seededRandom(seed);
  return { data: Float32Array.from({ length: n * c * h * w }, () => random()), dims: [n, c, h, w] };
}

/** onnxruntime's logits, an image at a time (the test models' batch is 1). */
async function onnxruntime(bytes: Uint8Array, t: Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const [n, c, h, w] = t.dims;
  const out = new Float32Array(n * h * w);
  try {
    for (let i = 0; i < n; i++) {
      const one = t.data.subarray(i * c * h * w, (i + 1) * c * h * w);
      const r = await session.run({ image: new ort.Tensor("float32", one, [1, c, h, w]) });
      out.set(r.logits.data as Float32Array, i * h * w);
    }
    return out;
  } finally {
    await session.release();
  }
}

function assertClose(got: Float32Array, want: Float32Array, what: string) {
  assert.equal(got.length, want.length, what);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  }
  assert.ok(worst < 1e-4, `${what}: off by ${worst}`);
}

for (const build of BUILDS) {
  Deno.test(`direct runs (${build}) match onnxruntime: random U-Nets, odd sizes, batches, BatchNormalization`, async () => {
    await matchRandomUnets(build);
  });
  Deno.test(`direct runs (${build}) match onnxruntime for the four shipped students`, async () => {
    await matchStudents(build);
  });
}

async function matchRandomUnets(build: Build) {
  const cases = [
    { width: 4, depth: 3, channels: 3, sizes: [[64, 64], [40, 72], [200, 136]] },
    { width: 8, depth: 2, channels: 1, sizes: [[36, 20], [12, 300]] },
    { width: 16, depth: 2, channels: 3, sizes: [[32, 48]] },
    { width: 4, depth: 2, channels: 3, sizes: [[44, 28]], batchNorm: true },
  ];
  for (const [i, c] of cases.entries()) {
    const bytes = unetModel({ ...c, seed: 11 + i });
    const runner = await load(bytes, build);
    for (const [h, w] of c.sizes) {
      const n = h === c.sizes[0][0] ? 2 : 1;
      const input = image(n, c.channels, h, w, i * 100 + h);
      const got = (await runner.run({ image: input })).outputs.logits;
      assert.deepEqual(got.dims, [n, 1, h, w]);
      assertClose(got.data, await onnxruntime(bytes, input), `case ${i} at ${n}×${h}×${w}`);
    }
  }
}

async function matchStudents(build: Build) {
  for (const model of ["isic2017/3", "kvasir-seg/4", "hc18/4", "isbi2012-em/3"]) {
    const bytes = await Deno.readFile(`${root}models/${model}/model.onnx`);
    const runner = await load(bytes, build);
    const input = image(1, runner.graph.inputChannels, 192, 256, 5);
    const got = (await runner.run({ image: input })).outputs.logits;
    const want = await onnxruntime(bytes, input);
    assertClose(got.data, want, model);
    // the mask itself: no pixel changes side
    assert.equal(got.data.filter((v, i) => v > 0 !== want[i] > 0).length, 0, model);
  }
}

Deno.test("direct runs that overlap keep to their own workspaces", async () => {
  const bytes = unetModel({ width: 4, depth: 3, seed: 5 });
  const runner = await load(bytes, "native off-thread");
  const inputs = [1, 2, 3, 4].map((s) => image(1, 3, 96, 128, s));
  const alone: Float32Array[] = [];
  for (const input of inputs) alone.push((await runner.run({ image: input })).outputs.logits.data);
  const together = await Promise.all(inputs.map((input) => runner.run({ image: input })));
  together.forEach((r, i) => assert.deepEqual(r.outputs.logits.data, alone[i]));
  assert.notDeepEqual(alone[0], alone[1]);
});

Deno.test("a split run gives the one-thread run's values, alone and while other runs overlap it", async () => {
  const bytes = unetModel({ width: 4, depth: 3, seed: 7 });
  const one = await load(bytes, "native");
  const split = await load(bytes, "native split");
  // row counts whose halves are odd (104 → 13 rows at the bottom: 6 + 7), and one whose
  // bottom is too small to halve (24 → 3 rows: part 0 takes them all)
  const inputs = [24, 104, 120, 136].map((h, s) => image(1, 3, h, 136, s));
  const want: Float32Array[] = [];
  for (const input of inputs) want.push((await one.run({ image: input })).outputs.logits.data);
  await new Promise((r) => setTimeout(r, SPLIT_QUIET_MS + 10));
  const before = splitRuns();
  for (const [i, input] of inputs.entries()) {
    assert.deepEqual((await split.run({ image: input })).outputs.logits.data, want[i]);
  }
  // each size's first lone run tries two threads (SplitChoice)
  assert.equal(splitRuns() - before, inputs.length, "each run alone took two threads");
  const together = await Promise.all(inputs.map((input) => split.run({ image: input })));
  together.forEach((r, i) => assert.deepEqual(r.outputs.logits.data, want[i]));
  assert.ok(splitRuns() - before <= inputs.length + 1, "of the four together, the first at most");
});

Deno.test("direct workspaces are kept through a burst and dropped once runs stop", async () => {
  const runner = await load(unetModel({ width: 4, depth: 2 }), "native off-thread");
  const input = image(1, 3, 64, 64, 3);
  await Promise.all([runner.run({ image: input }), runner.run({ image: input })]);
  assert.equal(runner.workspaces, 2);
  await new Promise((r) => setTimeout(r, WORKSPACE_IDLE_MS / 2));
  await runner.run({ image: input });
  await new Promise((r) => setTimeout(r, WORKSPACE_IDLE_MS / 2 + 50));
  assert.equal(runner.workspaces, 2, "a run within the idle time keeps them");
  await new Promise((r) => setTimeout(r, WORKSPACE_IDLE_MS));
  assert.equal(runner.workspaces, 0);
  await runner.release();
});

Deno.test("a direct run refuses an input of the wrong channels", async () => {
  const runner = await load(unetModel({ width: 4, depth: 1 }), "native");
  await assert.rejects(runner.run({ image: image(1, 1, 8, 8, 1) }), /not \[N, 3, H, W\]/);
});
