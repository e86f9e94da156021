/**
 * The direct kernels at each vector width, side by side in one process (alternating rounds):
 * the ISIC student at 256² on one thread, as the native library runs it on this CPU, held to
 * AVX2 (8 floats) and SSE2 (4 floats, no FMA) on x86-64, and as the WebAssembly build
 * (SIMD128: 4 floats) runs it in V8. Says how much of the wasm/native gap is the vector width
 * (wasm against native at the same width) and what an AVX2 host (most edge boxes) would see.
 * Prints one JSON line (`bench/scripts.ts` keeps it).
 *
 * @module
 */
import { type DirectRunner, directRunner } from "../src/engines/direct/runner.ts";
import { type KernelWidth, kernelWidths, nativeKernels } from "../src/engines/direct/kernels.ts";
import { wasmKernels } from "../src/engines/direct/wasm_kernels.ts";
import { randomInput } from "./engines.ts";
import { round, summarize } from "./stats.ts";

/** One width's timing. */
export interface WidthRow {
  id: string;
  label: string;
  median_ms: number;
  p90_ms: number;
  n: number;
}

/** What the script prints. */
export interface KernelWidths {
  model: string;
  size: number;
  rows: WidthRow[];
}

const MODEL = "models/isic2017/3/model.onnx";
const SIZE = 256;

if (import.meta.main) {
  const bytes = await Deno.readFile(new URL(`../${MODEL}`, import.meta.url));
  const widths = await kernelWidths();
  type Build = { id: string; label: string; width?: KernelWidth; wasm?: boolean };
  const all: Build[] = [
    { id: "native", label: "native, this CPU's widest" },
    { id: "native-avx2", label: "native held to AVX2 (8 floats, FMA)", width: "v3" },
    { id: "native-sse2", label: "native held to SSE2 (4 floats, no FMA)", width: "v1" },
    { id: "wasm", label: "WebAssembly SIMD128 (4 floats, no FMA), V8", wasm: true },
  ];
  const builds = all.filter((b) => !b.width || widths.includes(b.width));
  const runners: { id: string; label: string; runner: DirectRunner }[] = [];
  for (const b of builds) {
    const runner = await directRunner(
      bytes,
      [],
      b.wasm ? wasmKernels : () => nativeKernels({ offThread: false, width: b.width }),
    );
    if ("reason" in runner) throw new Error(`${b.id}: ${runner.reason}`);
    runners.push({ id: b.id, label: b.label, runner });
  }
  const feeds = randomInput("image", [1, 3, SIZE, SIZE]);
  const samples = new Map<string, number[]>();
  // a second of runs each first: V8 optimises the WebAssembly in the background meanwhile
  for (const r of runners) {
    const t0 = performance.now();
    while (performance.now() - t0 < 1000) await r.runner.run(feeds);
  }
  for (let round = 0; round < 6; round++) {
    for (const r of runners) {
      for (let i = 0; i < 15; i++) {
        const t = performance.now();
        await r.runner.run(feeds);
        samples.set(r.id, [...samples.get(r.id) ?? [], performance.now() - t]);
      }
    }
  }
  const rows = runners.map((r) => {
    const s = summarize(samples.get(r.id)!);
    return {
      id: r.id,
      label: r.label,
      median_ms: round(s.median_ms, 2),
      p90_ms: round(s.p90_ms, 2),
      n: s.n,
    };
  });
  const result: KernelWidths = { model: MODEL, size: SIZE, rows };
  console.log(JSON.stringify(result));
}
