/**
 * tfjs-wasm vs onnxruntime-web wasm (1 thread) on the 256² TinyUnet (width 4, depth 4,
 * random weights): median latency of N runs after warm-up, both engines in this process
 * with their runs alternating, plus the `.wasm` bytes each loads. Prints one JSON object.
 * onnxruntime-web's time includes its Worker round trip (that is how the server runs it).
 *
 * `deno run -A bench/tfjs_vs_ort.ts [--runs 20] [--warmup 3] [--size 256]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Engine, Tensor } from "../src/engines/engine.ts";
import { wasmEngine } from "../src/engines/onnx_wasm.ts";
import { loadTfjs } from "../src/engines/tfjs/backend.ts";
import { tfjsWasmEngine } from "../src/engines/tfjs_wasm.ts";
import { seededRandom, unetModel } from "../lib/onnx_builder.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string" }, warmup: { type: "string" }, size: { type: "string" } },
});
const runs = Number(values.runs ?? 20);
const warmup = Number(values.warmup ?? 3);
const size = Number(values.size ?? 256);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Warms both sessions, then alternates their runs so both see the same machine load. */
async function timeBoth(engines: Engine[], feeds: Record<string, Tensor>, bytes: Uint8Array) {
  const sessions = await Promise.all(
    engines.map((e) =>
      e.createSession({ path: "tinyunet.onnx", bytes, externalData: [] }, { threads: 1 })
    ),
  );
  try {
    for (const s of sessions) for (let i = 0; i < warmup; i++) await s.run(feeds);
    const ms: number[][] = sessions.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (const [k, s] of sessions.entries()) {
        const t0 = performance.now();
        await s.run(feeds);
        ms[k].push(performance.now() - t0);
      }
    }
    return sessions.map((s, k) => ({
      median_ms: +median(ms[k]).toFixed(2),
      min_ms: +Math.min(...ms[k]).toFixed(2),
      max_ms: +Math.max(...ms[k]).toFixed(2),
      threads: s.threads,
    }));
  } finally {
    for (const s of sessions) await s.release();
  }
}

const ortWasmDir = new URL("./", import.meta.resolve("onnxruntime-web"));
async function ortWasmFiles() {
  const files: Record<string, number> = {};
  for await (const e of Deno.readDir(ortWasmDir)) {
    if (e.name.endsWith(".wasm")) {
      files[e.name] = (await Deno.stat(new URL(e.name, ortWasmDir))).size;
    }
  }
  return files;
}

const bytes = unetModel({ width: 4, depth: 4, seed: 7 });
const rnd = seededRandom(1);
const feeds = {
  image: {
    data: new Float32Array(3 * size * size).map(() => rnd() * 2 - 1),
    dims: [1, 3, size, size],
  },
};
const [tfjs, ort] = await timeBoth([tfjsWasmEngine, wasmEngine], feeds, bytes);
const rt = await loadTfjs();
console.log(JSON.stringify({
  benchmark: "tfjs_vs_ort",
  model: "TinyUnet width 4 depth 4 (builder, random weights)",
  input: [1, 3, size, size],
  runs,
  warmup,
  tfjs_wasm: {
    ...tfjs,
    wasm_file: rt.wasmFile.split("/").pop(),
    wasm_bytes: rt.wasmBytes,
    simd: rt.simd,
  },
  ort_wasm: { ...ort, wasm_files_in_package: await ortWasmFiles() },
  hardware_concurrency: navigator.hardwareConcurrency,
}));
