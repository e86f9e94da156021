/**
 * fp32 vs int8 per engine for every model version in the shipped repository (`models/`)
 * whose card lists an int8 file.
 *
 * When the colleague script `bench/quant_latency.ts` is present, it does the measuring
 * (one process per thread count: the model loaded as the server does, a real image
 * preprocessed for the card, fp32 and int8 runs interleaved, engine time per run) and
 * this part gathers its JSON; otherwise both precisions are timed back to back here on
 * each configuration at the card's working size (long side rounded up to the pad
 * multiple; square).
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
  /** who measured: bench/quant_latency.ts, or this module */
  measured_by: string;
  /** model versions with an int8 file (shipped), or the quantised placeholder */
  models: { model: string; source: string; int8_file: string }[];
  note: string;
  rows: QuantRow[];
  /** fp32 median / int8 median per model and configuration (> 1: int8 faster) */
  speedups: {
    model: string;
    config: string;
    fp32_ms: number;
    int8_ms: number;
    fp32_over_int8: number;
  }[];
}

function workingDims(entry: ModelEntry): number[] {
  const i = entry.card.input;
  const side = i.height ?? i.width ?? i.resize?.long_side ?? 256;
  const s = Math.ceil(side / i.pad_multiple) * i.pad_multiple;
  return [1, i.channels, i.height ?? s, i.width ?? s];
}

async function quantizePlaceholder(): Promise<
  { entry: ModelEntry; note: string } | { error: string }
> {
  const src = new URL("models/placeholder/1/", ROOT).pathname;
  if (!existsSync(join(src, "model.json"))) return { error: "no models/placeholder/1 to quantise" };
  const tmp = await Deno.makeTempDir({ prefix: "tinyunet-bench-int8-" });
  const dir = join(tmp, "placeholder", "1");
  await Deno.mkdir(dir, { recursive: true });
  for (const f of ["model.json", "model.onnx"]) await Deno.copyFile(join(src, f), join(dir, f));
  progress("quant: no shipped int8 model; quantising the placeholder TinyUnet with tools/quantize");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "tools/quantize/main.ts",
      "--model",
      dir,
      "--calib",
      "tests/fixtures/images",
      "--max-images",
      "3",
    ],
    cwd: ROOT,
    env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    return { error: `tools/quantize failed: ${new TextDecoder().decode(out.stderr).slice(-600)}` };
  }
  return {
    entry: await readEntry(tmp, "placeholder", "1"),
    note:
      "No shipped model has an int8 file, so the untrained placeholder TinyUnet (models/placeholder/1) was quantised in this run with " +
      "`tools/quantize` (defaults: minmax, per-channel int8 weights, uint8 activations; calibrated on the 3 images of tests/fixtures/images). " +
      "Timing only: it says how fast each engine runs a QDQ int8 TinyUnet, nothing about accuracy.",
  };
}

/** Options of {@link quantBench}. */
export interface QuantOptions {
  /** quantise the placeholder when no shipped model has int8 */
  quantizeFallback: boolean;
  /** square input size instead of the card's (own measurement only) */
  sizeOverride?: number;
  /** runs and warm-ups per precision (colleague script) */
  runs?: number;
  warmup?: number;
  threads?: number[];
  /** engines to ask the colleague script for (default native, wasm, tfjs-wasm) */
  engines?: string[];
}

/** Times fp32 and int8 of every int8-capable model on each configuration. */
export async function quantBench(
  configs: EngineConfig[],
  plan: RunPlan,
  options: QuantOptions,
): Promise<QuantResult> {
  const root = new URL("models/", ROOT).pathname;
  let entries = (await scanRepository(root)).filter((e) => e.card.files.int8);
  let note = "Shipped model versions with an int8 file (card files.int8).";
  let source = "shipped";
  if (entries.length === 0) {
    if (!options.quantizeFallback) {
      return {
        measured_by: "-",
        models: [],
        note:
          "No shipped model has an int8 file (and the placeholder fallback is off in this mode).",
        rows: [],
        speedups: [],
      };
    }
    if (existsSync(new URL(COLLEAGUE, ROOT))) {
      const dir = new URL("models/placeholder/1", ROOT).pathname;
      return await viaColleague(
        [{
          model: "placeholder/1",
          dir,
          source: "placeholder quantised by bench/quant_latency.ts into a temporary copy",
        }],
        configs,
        options,
        "No shipped model has an int8 file, so `bench/quant_latency.ts` quantised the untrained placeholder TinyUnet (models/placeholder/1) into a temporary copy " +
          "(tools/quantize defaults: minmax, per-channel; calibrated on tests/fixtures/images). Timing only: it says how fast each engine runs a QDQ int8 TinyUnet, nothing about accuracy.",
      );
    }
    const q = await quantizePlaceholder();
    if ("error" in q) {
      return {
        measured_by: "-",
        models: [],
        note: `No shipped model has an int8 file; quantising the placeholder failed: ${q.error}`,
        rows: [],
        speedups: [],
      };
    }
    entries = [q.entry];
    note = q.note;
    source = "placeholder quantised in this run";
  }
  if (source === "shipped" && existsSync(new URL(COLLEAGUE, ROOT))) {
    return await viaColleague(
      entries.map((e) => ({ model: `${e.name}/${e.version}`, dir: e.dir, source })),
      configs,
      options,
      note,
    );
  }
  const rows: QuantRow[] = [];
  for (const entry of entries) {
    const name = `${entry.name}/${entry.version}`;
    const dims = options.sizeOverride
      ? [1, entry.card.input.channels, options.sizeOverride, options.sizeOverride]
      : workingDims(entry);
    const feeds = randomInput(entry.card.input.name, dims);
    for (const cfg of configs.filter((c) => c.available && c.engine !== "webgpu")) {
      for (const precision of ["fp32", "int8"] as const) {
        const row: QuantRow = { model: name, config: cfg.id, precision, dims, file_bytes: 0 };
        progress(`quant: ${name} ${precision} on ${cfg.id}`);
        try {
          const { source: src } = await readModelSource(entry, precision);
          row.file_bytes = src.bytes.length +
            src.externalData.reduce((a, e) => a + e.data.length, 0);
          const session = await openSession(
            cfg,
            src,
            { name: entry.card.input.name, dims },
            60_000,
          );
          try {
            const t = await timeRuns(() => session.run(feeds), plan);
            Object.assign(row, {
              median_ms: t.summary.median_ms,
              p90_ms: t.summary.p90_ms,
              n: t.summary.n,
            });
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
  return {
    measured_by: "bench/quant.ts",
    models: entries.map((e) => ({
      model: `${e.name}/${e.version}`,
      source,
      int8_file: e.card.files.int8 ?? "",
    })),
    note,
    rows,
    speedups: speedupsOf(rows),
  };
}

function speedupsOf(rows: QuantRow[]): QuantResult["speedups"] {
  const speedups = [];
  for (const r of rows) {
    if (r.precision !== "fp32" || r.median_ms === undefined) continue;
    const q = rows.find((x) =>
      x.model === r.model && x.config === r.config && x.precision === "int8" &&
      x.median_ms !== undefined
    );
    if (q?.median_ms) {
      speedups.push({
        model: r.model,
        config: r.config,
        fp32_ms: r.median_ms,
        int8_ms: q.median_ms,
        fp32_over_int8: round(r.median_ms / q.median_ms, 2),
      });
    }
  }
  return speedups;
}

/** The colleague's fp32-vs-int8 script. */
export const COLLEAGUE = "bench/quant_latency.ts";

interface ColleagueJson {
  model: string;
  input: number[];
  runs: number;
  warmup: number;
  sizes: { fp32_bytes: number; int8_bytes: number };
  results: {
    engine: string;
    threads: number;
    fp32: { median_ms: number; p90_ms: number; n: number };
    int8: { median_ms: number; p90_ms: number; n: number };
  }[];
}

/** Runs bench/quant_latency.ts per model and thread count and gathers its JSON. */
async function viaColleague(
  models: { model: string; dir: string; source: string }[],
  configs: EngineConfig[],
  options: QuantOptions,
  note: string,
): Promise<QuantResult> {
  const rows: QuantRow[] = [];
  const errors: string[] = [];
  const avail = new Set(configs.filter((c) => c.available).map((c) => c.engine));
  for (const m of models) {
    for (const t of options.threads ?? [1, 2]) {
      // tfjs-wasm has one thread: time it once, with the first thread count
      const wanted = options.engines ?? ["native", "wasm", "tfjs-wasm"];
      const engines = wanted.filter((e) =>
        avail.has(e as never) && (e !== "tfjs-wasm" || t === (options.threads ?? [1])[0])
      );
      progress(
        `quant: ${COLLEAGUE} --model ${m.model} --engines ${engines.join(",")} --threads ${t}`,
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          COLLEAGUE,
          "--model",
          m.dir,
          "--engines",
          engines.join(","),
          "--threads",
          String(t),
          "--runs",
          String(options.runs ?? 30),
          "--warmup",
          String(options.warmup ?? 3),
        ],
        cwd: ROOT,
        env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      let json: ColleagueJson;
      try {
        json = JSON.parse(text.slice(text.indexOf("{")));
      } catch {
        errors.push(
          `${m.model} ${t} thread(s): exit ${out.code}: ${
            (text + new TextDecoder().decode(out.stderr)).slice(-400)
          }`,
        );
        continue;
      }
      for (const r of json.results) {
        const config = r.engine === "tfjs-wasm" ? "tfjs-wasm" : `${r.engine}-${r.threads}t`;
        for (const precision of ["fp32", "int8"] as const) {
          rows.push({
            model: m.model,
            config,
            precision,
            dims: json.input,
            file_bytes: precision === "fp32" ? json.sizes.fp32_bytes : json.sizes.int8_bytes,
            median_ms: r[precision].median_ms,
            p90_ms: r[precision].p90_ms,
            n: r[precision].n,
          });
        }
      }
    }
  }
  return {
    measured_by:
      `${COLLEAGUE} (engine time per run from ModelVersion.infer, fp32 and int8 interleaved; its own warm-up and p90 by interpolation)`,
    models: models.map((m) => ({ model: m.model, source: m.source, int8_file: "model.int8.onnx" })),
    note: note + (errors.length ? ` Failed: ${errors.join("; ")}` : ""),
    rows,
    speedups: speedupsOf(rows),
  };
}
