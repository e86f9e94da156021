/**
 * fp32 vs int8 per engine for every model version in the shipped repository (`models/`)
 * whose card lists an int8 file.
 *
 * `bench/quant_latency.ts` does the measuring (one process per thread count: the model
 * loaded as the server does, a real image preprocessed for the card, fp32 and int8 runs
 * interleaved, engine time per run); this part runs it per model and gathers its JSON.
 *
 * @module
 */
import { scanRepository } from "../src/models/repository.ts";
import type { EngineConfig } from "./engines.ts";
import { progress } from "./progress.ts";
import { round } from "./stats.ts";

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
  /** shipped model versions with an int8 file */
  models: { model: string; int8_file: string }[];
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

/** Options of {@link quantBench}. */
export interface QuantOptions {
  /** runs and warm-ups per precision */
  runs?: number;
  warmup?: number;
  threads?: number[];
  /** engines to time (default native, wasm, tfjs-wasm) */
  engines?: string[];
}

/** Times fp32 and int8 of every shipped model version that has an int8 file. */
export async function quantBench(
  configs: EngineConfig[],
  options: QuantOptions,
): Promise<QuantResult> {
  const entries = (await scanRepository(new URL("models/", ROOT).pathname)).filter((e) =>
    e.card.files.int8
  );
  if (entries.length === 0) {
    return {
      measured_by: "-",
      models: [],
      note: "No shipped model has an int8 file (card files.int8).",
      rows: [],
      speedups: [],
    };
  }
  return await viaQuantLatency(
    entries.map((e) => ({ model: `${e.name}/${e.version}`, dir: e.dir })),
    configs,
    options,
    "Shipped model versions with an int8 file (card files.int8).",
  );
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

/** The fp32-vs-int8 timing script. */
export const QUANT_LATENCY = "bench/quant_latency.ts";

interface QuantLatencyJson {
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
async function viaQuantLatency(
  models: { model: string; dir: string }[],
  configs: EngineConfig[],
  options: QuantOptions,
  note: string,
): Promise<QuantResult> {
  const rows: QuantRow[] = [];
  const errors: string[] = [];
  const avail = new Set<string>(configs.filter((c) => c.available).map((c) => c.engine));
  for (const m of models) {
    for (const t of options.threads ?? [1, 2]) {
      // tfjs-wasm has one thread: time it once, with the first thread count
      const wanted = options.engines ?? ["native", "wasm", "tfjs-wasm"];
      const engines = wanted.filter((e) =>
        avail.has(e) && (e !== "tfjs-wasm" || t === (options.threads ?? [1])[0])
      );
      progress(
        `quant: ${QUANT_LATENCY} --model ${m.model} --engines ${engines.join(",")} --threads ${t}`,
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          QUANT_LATENCY,
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
      let json: QuantLatencyJson;
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
      `${QUANT_LATENCY} (engine time per run from ModelVersion.infer, fp32 and int8 interleaved; its own warm-up)`,
    models: models.map((m) => ({ model: m.model, int8_file: "model.int8.onnx" })),
    note: note + (errors.length ? ` Failed: ${errors.join("; ")}` : ""),
    rows,
    speedups: speedupsOf(rows),
  };
}
