/**
 * fp32 vs int8 per engine for every model version in the shipped repository (`models/`)
 * whose card lists an int8 file: both precisions timed back to back on each configuration
 * at the card's working size (long side, rounded up to the pad multiple; square), with
 * the card's input name and channels.
 *
 * When no shipped model has an int8 file, and `quantizeFallback` is set, the untrained
 * placeholder TinyUnet is quantised into a temporary copy with `tools/quantize` (minmax,
 * per-channel, calibrated on tests/fixtures/images) and timed instead, labelled as such:
 * it shows the engines' int8 speed, not any trained model's accuracy.
 *
 * @module
 */
import { join } from "node:path";
import { existsSync } from "node:fs";
import { readEntry, readModelSource, scanRepository } from "../src/models/repository.ts";
import type { ModelEntry } from "../src/models/repository.ts";
import type { EngineConfig } from "./engines.ts";
import { openSession, randomInput } from "./engines.ts";
import { progress } from "./progress.ts";
import { round, type RunPlan, timeRuns } from "./stats.ts";

const ROOT = new URL("../", import.meta.url);

/** One precision of one model on one configuration. */
export interface QuantRow {
  model: string;
  config: string;
  precision: "fp32" | "int8";
  dims: number[];
  file_bytes: number;
  median_ms?: number;
  p90_ms?: number;
  n?: number;
  error?: string;
}

/** fp32/int8 comparison. */
export interface QuantResult {
  /** model versions with an int8 file (shipped), or the quantised placeholder */
  models: { model: string; source: string; int8_file: string }[];
  note: string;
  rows: QuantRow[];
  /** fp32 median / int8 median per model and configuration (> 1: int8 faster) */
  speedups: { model: string; config: string; fp32_ms: number; int8_ms: number; fp32_over_int8: number }[];
}

function workingDims(entry: ModelEntry): number[] {
  const i = entry.card.input;
  const side = i.height ?? i.width ?? i.resize?.long_side ?? 256;
  const s = Math.ceil(side / i.pad_multiple) * i.pad_multiple;
  return [1, i.channels, i.height ?? s, i.width ?? s];
}

async function quantizePlaceholder(): Promise<{ entry: ModelEntry; note: string } | { error: string }> {
  const src = new URL("models/placeholder/1/", ROOT).pathname;
  if (!existsSync(join(src, "model.json"))) return { error: "no models/placeholder/1 to quantise" };
  const tmp = await Deno.makeTempDir({ prefix: "tinyunet-bench-int8-" });
  const dir = join(tmp, "placeholder", "1");
  await Deno.mkdir(dir, { recursive: true });
  for (const f of ["model.json", "model.onnx"]) await Deno.copyFile(join(src, f), join(dir, f));
  progress("quant: no shipped int8 model; quantising the placeholder TinyUnet with tools/quantize");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "tools/quantize/main.ts", "--model", dir, "--calib", "tests/fixtures/images", "--max-images", "3"],
    cwd: ROOT,
    env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) return { error: `tools/quantize failed: ${new TextDecoder().decode(out.stderr).slice(-600)}` };
  return {
    entry: await readEntry(tmp, "placeholder", "1"),
    note: "No shipped model has an int8 file, so the untrained placeholder TinyUnet (models/placeholder/1) was quantised in this run with " +
      "`tools/quantize` (defaults: minmax, per-channel int8 weights, uint8 activations; calibrated on the 3 images of tests/fixtures/images). " +
      "Timing only: it says how fast each engine runs a QDQ int8 TinyUnet, nothing about accuracy.",
  };
}

/** Times fp32 and int8 of every int8-capable model on each configuration. */
export async function quantBench(configs: EngineConfig[], plan: RunPlan, options: { quantizeFallback: boolean; sizeOverride?: number }): Promise<QuantResult> {
  const root = new URL("models/", ROOT).pathname;
  let entries = (await scanRepository(root)).filter((e) => e.card.files.int8);
  let note = "Shipped model versions with an int8 file (card files.int8).";
  let source = "shipped";
  if (entries.length === 0) {
    if (!options.quantizeFallback) return { models: [], note: "No shipped model has an int8 file (and the placeholder fallback is off in this mode).", rows: [], speedups: [] };
    const q = await quantizePlaceholder();
    if ("error" in q) return { models: [], note: `No shipped model has an int8 file; quantising the placeholder failed: ${q.error}`, rows: [], speedups: [] };
    entries = [q.entry];
    note = q.note;
    source = "placeholder quantised in this run";
  }
  const rows: QuantRow[] = [];
  for (const entry of entries) {
    const name = `${entry.name}/${entry.version}`;
    const dims = options.sizeOverride ? [1, entry.card.input.channels, options.sizeOverride, options.sizeOverride] : workingDims(entry);
    const feeds = randomInput(entry.card.input.name, dims);
    for (const cfg of configs.filter((c) => c.available && c.engine !== "webgpu")) {
      for (const precision of ["fp32", "int8"] as const) {
        const row: QuantRow = { model: name, config: cfg.id, precision, dims, file_bytes: 0 };
        progress(`quant: ${name} ${precision} on ${cfg.id}`);
        try {
          const { source: src } = await readModelSource(entry, precision);
          row.file_bytes = src.bytes.length + src.externalData.reduce((a, e) => a + e.data.length, 0);
          const session = await openSession(cfg, src, { name: entry.card.input.name, dims }, 60_000);
          try {
            const t = await timeRuns(() => session.run(feeds), plan);
            Object.assign(row, { median_ms: t.summary.median_ms, p90_ms: t.summary.p90_ms, n: t.summary.n });
          } finally {
            await session.release();
          }
        } catch (err) {
          row.error = (err as Error).message.slice(0, 300);
        }
        rows.push(row);
      }
    }
  }
  const speedups = [];
  for (const r of rows) {
    if (r.precision !== "fp32" || r.median_ms === undefined) continue;
    const q = rows.find((x) => x.model === r.model && x.config === r.config && x.precision === "int8" && x.median_ms !== undefined);
    if (q?.median_ms) speedups.push({ model: r.model, config: r.config, fp32_ms: r.median_ms, int8_ms: q.median_ms, fp32_over_int8: round(r.median_ms / q.median_ms, 2) });
  }
  return {
    models: entries.map((e) => ({ model: `${e.name}/${e.version}`, source, int8_file: e.card.files.int8 ?? "" })),
    note,
    rows,
    speedups,
  };
}
