/**
 * Where the time of one request goes, two ways:
 *
 * 1. In process, stage by stage, with the server's own code and settings (the default
 *    model of the shipped repository, engine `auto`, default threads): decode (PNG →
 *    pixels), preprocess (resize, normalise, pad → NCHW tensor), inference (the engine run,
 *    through the model's queue), postprocess (logits → mask at the original size), and the
 *    response body: PNG mask encoding, or the JSON summary.
 * 2. Over HTTP at concurrency 1 against the real server: the client's round-trip time next
 *    to the stage times the server reports (`Server-Timing` header and the JSON body's
 *    `timings`); the difference is HTTP, routing, body reading and response writing.
 *
 * @module
 */
import { loadConfig } from "../src/config.ts";
import { decodeImage } from "../src/imaging/decode.ts";
import { postprocess } from "../src/imaging/postprocess.ts";
import { preprocess } from "../src/imaging/preprocess.ts";
import { ModelRegistry } from "../src/models/registry.ts";
import { maskPng } from "../src/outputs/mask_png.ts";
import { summarize as maskSummary } from "../src/outputs/summary.ts";
import type { ServerProcess } from "./server.ts";
import { progress } from "./progress.ts";
import { median, round, summarize } from "./stats.ts";

const STAGES = [
  "decode",
  "preprocess",
  "inference",
  "postprocess",
  "encode_png",
  "summary_json",
] as const;
/** A serving stage timed in process. */
export type Stage = typeof STAGES[number];

/** In-process stage timings. */
export interface StageProfile {
  model: string;
  engine: string;
  threads: number;
  image: { width: number; height: number; bytes: number };
  tensor_dims: number[];
  runs: number;
  warmup: number;
  stages: Record<Stage, ReturnType<typeof summarize>>;
  /** Σ medians of the stages a PNG response needs */
  total_png_median_ms: number;
  /** share of that total per stage (%) */
  share_png_percent: Record<string, number>;
}

/** Times every serving stage in this process. */
export async function stageProfile(
  body: Uint8Array,
  runs: number,
  warmup: number,
): Promise<StageProfile> {
  const config = loadConfig({ TINYUNET_MODELS: new URL("../models/", import.meta.url).pathname });
  const registry = new ModelRegistry(config.modelsDir, {
    engine: config.engine,
    threads: config.threads,
    maxQueue: config.maxQueue,
  });
  // a callback is passed on purpose: registry.ts evaluates `onLoaded?.(await this.add(entry))`,
  // which skips loading altogether when no callback is given
  await registry.loadAll(undefined, () => {});
  const model = registry.get(undefined);
  const card = model.card;
  const times: Record<Stage, number[]> = Object.fromEntries(
    STAGES.map((s) => [s, []]),
  ) as unknown as Record<Stage, number[]>;
  let dims: number[] = [];
  let size = { width: 0, height: 0, bytes: body.length };
  progress(
    `profile: in-process stages on ${model.name}/${model.version} (${warmup} warm-up + ${runs} runs)`,
  );
  for (let i = 0; i < warmup + runs; i++) {
    const t: number[] = [performance.now()];
    const image = await decodeImage(body, "image/png", { maxPixels: config.maxPixels });
    t.push(performance.now());
    const { tensor, geometry } = preprocess(image, card.input);
    t.push(performance.now());
    const { outputs } = await model.infer({ [card.input.name]: tensor });
    t.push(performance.now());
    const seg = postprocess(outputs[card.output.name], geometry, card.output.kind, card.threshold);
    t.push(performance.now());
    maskPng(seg);
    t.push(performance.now());
    JSON.stringify(maskSummary(seg, image.pixelSpacingMm));
    t.push(performance.now());
    if (i >= warmup) STAGES.forEach((s, k) => times[s].push(t[k + 1] - t[k]));
    dims = tensor.dims;
    size = { width: image.width, height: image.height, bytes: body.length };
  }
  const runtime = (await model.runtime())[0];
  await registry.close();
  const stages = Object.fromEntries(STAGES.map((s) => [s, summarize(times[s])])) as Record<
    Stage,
    ReturnType<typeof summarize>
  >;
  const pngStages: Stage[] = ["decode", "preprocess", "inference", "postprocess", "encode_png"];
  const total = pngStages.reduce((a, s) => a + stages[s].median_ms, 0);
  return {
    model: `${model.name}/${model.version}`,
    engine: runtime?.engine ?? "?",
    threads: runtime?.threads ?? 0,
    image: size,
    tensor_dims: dims,
    runs,
    warmup,
    stages,
    total_png_median_ms: round(total, 3),
    share_png_percent: Object.fromEntries(
      pngStages.map((s) => [s, round((100 * stages[s].median_ms) / total, 1)]),
    ),
  };
}

/** HTTP round trips at concurrency 1 next to the server's own stage times. */
export interface HttpProfile {
  requests: number;
  /** client round trip, PNG mask response */
  rtt_png: ReturnType<typeof summarize>;
  /** client round trip, JSON response */
  rtt_json: ReturnType<typeof summarize>;
  /** medians of the server's stage timings (JSON body `timings`) */
  server_stages_median_ms: Record<string, number>;
  /** rtt_json median − Σ server stage medians: HTTP, routing, body read/write, JSON summary */
  http_and_other_ms: number;
  server_timing_example: string | null;
}

/** Sequential requests (warm-up excluded) in both formats. */
export async function httpProfile(
  server: ServerProcess,
  body: Uint8Array,
  requests: number,
  warmup: number,
): Promise<HttpProfile> {
  const post = async (format: string) => {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/v1/segment?format=${format}`, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers: { "content-type": "image/png" },
    });
    const data = format === "json" ? await res.json() : await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`profile: ${format} request answered ${res.status}`);
    return { ms, data, timing: res.headers.get("server-timing") };
  };
  progress(`profile: ${requests} sequential HTTP requests per format`);
  for (let i = 0; i < warmup; i++) {
    await post("png");
    await post("json");
  }
  const png: number[] = [];
  const json: number[] = [];
  const stages: Record<string, number[]> = {};
  let example: string | null = null;
  for (let i = 0; i < requests; i++) {
    const p = await post("png");
    png.push(p.ms);
    example = p.timing;
    const j = await post("json");
    json.push(j.ms);
    for (
      const [k, v] of Object.entries((j.data as { timings?: Record<string, number> }).timings ?? {})
    ) (stages[k] ??= []).push(v);
  }
  const stageMedians = Object.fromEntries(
    Object.entries(stages).map(([k, v]) => [k, round(median(v), 3)]),
  );
  const sum = Object.values(stageMedians).reduce((a, b) => a + b, 0);
  const rttJson = summarize(json);
  return {
    requests,
    rtt_png: summarize(png),
    rtt_json: rttJson,
    server_stages_median_ms: stageMedians,
    http_and_other_ms: round(rttJson.median_ms - sum, 3),
    server_timing_example: example,
  };
}
