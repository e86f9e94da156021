/**
 * Where the student's engine time goes, layer by layer: onnxruntime-node's own profiler
 * (`enableProfiling`) on the shipped default model at 256², native, one thread. The run
 * reports, per output resolution (full, ½, ¼, ⅛, 1/16), the kernel time, the FLOPs the
 * graph needs (bench/flops.ts on the ONNX file) and the FLOPs the executed kernels did
 * (their weight shapes as run: onnxruntime's NCHWc layout pads a convolution's output
 * channels to its SIMD block, 16 with AVX-512), and the slowest nodes.
 *
 * Why by hand: the profile is onnxruntime's JSON trace; this only sums it.
 *
 * Prints one JSON line (`bench/scripts.ts` keeps it; `bench/report_layers.ts` renders it).
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { countFlops } from "./flops.ts";

const ROOT = new URL("../", import.meta.url);
const SIZE = 256;
const RUNS = 100;

/** One executed node, summed over the timed runs (per run). */
export interface ProfiledNode {
  node: string;
  op: string;
  /** output shape as executed (NCHWc: channels padded) */
  output: number[];
  /** weights as executed ([] when none) */
  weight: number[];
  us: number;
  /** MACs the kernel did (convolutions: weights × output pixels) */
  macs: number;
}

/** What the script prints. */
export interface LayerProfile {
  model: string;
  size: number;
  runs: number;
  /** kernel time per run, all nodes */
  total_us: number;
  /** per output resolution (1 = full), kernel time and MACs needed / done */
  by_scale: { scale: number; us: number; macs_needed: number; macs_done: number }[];
  /** the slowest nodes */
  top: ProfiledNode[];
  /** median ms a run without the profiler: NCHWc ("all") vs im2col + GEMM ("extended"), alternating */
  median_ms: { all: number; extended: number };
}

interface TraceEvent {
  cat?: string;
  name: string;
  dur: number;
  args?: {
    op_name?: string;
    input_type_shape?: Record<string, number[]>[];
    output_type_shape?: Record<string, number[]>[];
  };
}

const shapeOf = (s?: Record<string, number[]>[]) => (s?.[0] ? Object.values(s[0])[0] : []);
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Sums an onnxruntime profile trace into per-node times (per run). */
export function sumTrace(events: TraceEvent[], runs: number): ProfiledNode[] {
  const nodes = new Map<string, ProfiledNode>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const name = e.name.slice(0, -"_kernel_time".length);
    let n = nodes.get(name);
    if (!n) {
      const op = e.args?.op_name ?? "?";
      const output = shapeOf(e.args?.output_type_shape);
      const inputs = e.args?.input_type_shape ?? [];
      const weight = (op === "Conv" || op === "ConvTranspose") && inputs[1]
        ? shapeOf([inputs[1]])
        : [];
      // a convolution does weights × output pixels MACs; a transposed one weights × input pixels
      const spatial = op === "ConvTranspose" ? shapeOf(inputs) : output;
      const pixels = spatial.length === 4 ? spatial[2] * spatial[3] : 0;
      n = {
        node: name,
        op,
        output,
        weight,
        us: 0,
        macs: weight.length === 4 ? numel(weight) * pixels : 0,
      };
      nodes.set(name, n);
    }
    n.us += e.dur / runs;
  }
  return [...nodes.values()];
}

/** Median ms a run at each graph optimisation level, measured in alternating blocks. */
async function timeLevels(
  bytes: Uint8Array,
  channels: number,
): Promise<{ all: number; extended: number }> {
  const levels = ["all", "extended"] as const;
  const sessions = await Promise.all(levels.map((level) =>
    ort.InferenceSession.create(bytes, {
      executionProviders: ["cpu"],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: level,
    })
  ));
  const x = new ort.Tensor("float32", new Float32Array(channels * SIZE * SIZE).fill(0.5), [
    1,
    channels,
    SIZE,
    SIZE,
  ]);
  const times: number[][] = [[], []];
  for (let block = 0; block < 10; block++) {
    for (const [i, s] of sessions.entries()) {
      const feeds = { [s.inputNames[0]]: x };
      await s.run(feeds);
      for (let k = 0; k < 10; k++) {
        const t0 = performance.now();
        await s.run(feeds);
        times[i].push(performance.now() - t0);
      }
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  const median = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1];
  return { all: +median(times[0]).toFixed(2), extended: +median(times[1]).toFixed(2) };
}

async function main() {
  const repo = JSON.parse(await Deno.readTextFile(new URL("models/repository.json", ROOT)));
  const name: string = repo.default_model;
  const dir = new URL(`models/${name}/`, ROOT);
  const version = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory && /^\d+$/.test(e.name))
    .map((e) => e.name).sort((a, b) => Number(b) - Number(a))[0];
  const path = new URL(`${version}/model.onnx`, dir).pathname;
  const bytes = await Deno.readFile(path);
  const traceDir = await Deno.makeTempDir({ prefix: "tinyunet-ort-profile-" });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    enableProfiling: true,
    profileFilePrefix: `${traceDir}/ort`,
  });
  const channels = 3;
  const x = new ort.Tensor("float32", new Float32Array(channels * SIZE * SIZE).fill(0.5), [
    1,
    channels,
    SIZE,
    SIZE,
  ]);
  const feeds = { [session.inputNames[0]]: x };
  for (let i = 0; i < 10; i++) await session.run(feeds);
  // the profile holds the warm-up runs too: count every run
  for (let i = 0; i < RUNS; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = [...Deno.readDirSync(traceDir)].find((e) => e.name.endsWith(".json"));
  if (!file) throw new Error(`onnxruntime wrote no profile into ${traceDir}`);
  const events: TraceEvent[] = JSON.parse(await Deno.readTextFile(`${traceDir}/${file.name}`));
  await Deno.remove(traceDir, { recursive: true });
  const nodes = sumTrace(events, RUNS + 10);
  const needed = countFlops(bytes, { [session.inputNames[0]]: [1, channels, SIZE, SIZE] }).layers;
  const scaleOf = (shape: number[]) => shape.length === 4 ? Math.round(SIZE / shape[3]) : 0;
  const scales = [...new Set(needed.map((l) => scaleOf(l.output)))].sort((a, b) => a - b);
  const result: LayerProfile = {
    model: `${name}/${version}`,
    size: SIZE,
    runs: RUNS + 10,
    total_us: Math.round(nodes.reduce((a, n) => a + n.us, 0)),
    by_scale: scales.map((scale) => ({
      scale,
      us: Math.round(
        nodes.filter((n) => scaleOf(n.output) === scale).reduce((a, n) => a + n.us, 0),
      ),
      macs_needed: needed.filter((l) => scaleOf(l.output) === scale).reduce(
        (a, l) => a + l.macs,
        0,
      ),
      macs_done: nodes.filter((n) => scaleOf(n.output) === scale).reduce((a, n) => a + n.macs, 0),
    })),
    median_ms: await timeLevels(bytes, channels),
    top: nodes.sort((a, b) => b.us - a.us).slice(0, 8).map((n) => ({ ...n, us: Math.round(n.us) })),
  };
  console.log(JSON.stringify(result));
}

if (import.meta.main) await main();
