/**
 * int8 vs fp32 latency of one model on each engine, in one process:
 *
 *   deno run -A bench/quant_latency.ts [--model models/<name>/<version>] [--engines native,wasm]
 *     [--runs 20] [--warmup 3] [--threads N] [--image path.png]
 *
 * Each engine loads the model as the server does (`loadModel`, both precisions), warms up,
 * then times `runs` engine runs of each precision, interleaved (fp32, int8, fp32, …) so
 * that load from other processes hits both alike. Prints one JSON object: per engine the
 * median (and p10/p90) engine time per precision, and fp32/int8 as `speedup`.
 * The input is a real image (default tests/fixtures/images/isic_ISIC_0000011.png)
 * preprocessed for the card. A model without an int8 file is quantised into a temporary
 * copy first (calibrated on tests/fixtures/images), which the JSON says.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { decodeImage, loadModel } from "../mod.ts";
import { parseEngineChoice } from "../src/engines/select.ts";
import { DEFAULT_DECODE_LIMITS } from "../src/imaging/image.ts";
import { preprocess } from "../src/imaging/preprocess.ts";
import { readEntry } from "../src/models/repository.ts";
import { median, percentile, round } from "./stats.ts";
import { useServerAllocator } from "./allocator.ts";
import { shippedModelUrl } from "../lib/shipped_models.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModelVersion } from "../tools/quantize/quantize.ts";

if (!Deno.env.get("ONNXRUNTIME_NODE_INSTALL")) Deno.env.set("ONNXRUNTIME_NODE_INSTALL", "skip");
if (!Deno.env.get("TINYUNET_LOG")) Deno.env.set("TINYUNET_LOG", "silent");

const here = new URL(".", import.meta.url).pathname;
useServerAllocator();
const { values: opt } = parseArgs({
  args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
  options: {
    model: { type: "string", default: shippedModelUrl("isic2017").pathname.replace(/\/$/, "") },
    engines: { type: "string", default: "native,wasm" },
    runs: { type: "string", default: "20" },
    warmup: { type: "string", default: "3" },
    threads: { type: "string" },
    image: {
      type: "string",
      default: join(here, "../tests/fixtures/images/isic_ISIC_0000011.png"),
    },
  },
});
const runs = Math.max(20, Number(opt.runs));
const warmup = Math.max(1, Number(opt.warmup));
const threads = opt.threads ? Number(opt.threads) : undefined;
const engines = opt.engines!.split(",").map((e) => parseEngineChoice(e));

const stats = (xs: number[]) => ({
  median_ms: round(median(xs)),
  p10_ms: round(percentile(xs, 10)),
  p90_ms: round(percentile(xs, 90)),
  n: xs.length,
});

/** The model folder to time, quantised into a temporary copy when it has no int8 file. */
async function prepare(
  dir: string,
): Promise<{ dir: string; note: string; cleanup: () => Promise<void> }> {
  const parts = dir.replace(/\/+$/, "").split("/");
  const entry = await readEntry(parts.slice(0, -2).join("/") || ".", parts.at(-2)!, parts.at(-1)!);
  if (entry.card.files.int8) {
    return {
      dir,
      note: `int8 file ${entry.card.files.int8} from the card`,
      cleanup: async () => {},
    };
  }
  const tmp = await Deno.makeTempDir({ prefix: "tinyunet-bench-" });
  const copy = join(tmp, entry.name, entry.version);
  await Deno.mkdir(copy, { recursive: true });
  for await (const f of Deno.readDir(entry.dir)) {
    if (f.isFile) await Deno.copyFile(join(entry.dir, f.name), join(copy, f.name));
  }
  await quantizeModelVersion({
    ...DEFAULT_QUANTIZE_OPTIONS,
    modelDir: copy,
    calibFolder: join(here, "../tests/fixtures/images"),
  });
  return {
    dir: copy,
    note:
      "no int8 file in the card: quantised into a temporary copy (minmax, per-channel, calibrated on tests/fixtures/images)",
    cleanup: () => Deno.remove(tmp, { recursive: true }),
  };
}

const target = await prepare(opt.model!);
try {
  const image = await decodeImage(
    await Deno.readFile(opt.image!),
    undefined,
    DEFAULT_DECODE_LIMITS,
  );
  const results = [];
  let card;
  let input: number[] = [];
  for (const engine of engines) {
    const model = await loadModel(target.dir, { engine, threads });
    try {
      card = model.card;
      const { tensor } = preprocess(image, card.input);
      input = tensor.dims;
      const feeds = { [card.input.name]: tensor };
      const times: Record<"fp32" | "int8", number[]> = { fp32: [], int8: [] };
      for (let i = 0; i < warmup; i++) {
        for (const p of ["fp32", "int8"] as const) await model.infer(feeds, p);
      }
      for (let i = 0; i < runs; i++) {
        for (const p of ["fp32", "int8"] as const) {
          times[p].push((await model.infer(feeds, p)).timings.computeMs);
        }
      }
      const [rt] = await model.runtime();
      const fp32 = stats(times.fp32), int8 = stats(times.int8);
      results.push({
        engine: rt.engine,
        // the threads asked for (a direct session reports the one thread of a run)
        threads: threads ?? rt.threads,
        fp32,
        int8,
        speedup: Math.round((fp32.median_ms / int8.median_ms) * 100) / 100,
      });
    } finally {
      await model.unload();
    }
  }
  const fp32Bytes = (await Deno.stat(join(target.dir, card!.files.fp32))).size;
  const int8Bytes = (await Deno.stat(join(target.dir, card!.files.int8!))).size;
  console.log(JSON.stringify(
    {
      bench: "quant_latency",
      model: `${card!.name}/${card!.version}`,
      int8_source: target.note,
      image: opt.image,
      input,
      runs,
      warmup,
      measure: "engine run time (ModelVersion.infer computeMs), fp32 and int8 interleaved",
      host: {
        cpus: navigator.hardwareConcurrency,
        os: Deno.build.os,
        arch: Deno.build.arch,
        deno: Deno.version.deno,
      },
      sizes: {
        fp32_bytes: fp32Bytes,
        int8_bytes: int8Bytes,
        ratio: Math.round((int8Bytes / fp32Bytes) * 1e4) / 1e4,
      },
      results,
    },
    null,
    2,
  ));
} finally {
  await target.cleanup();
}
