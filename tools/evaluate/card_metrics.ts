/**
 * Records an evaluation in the model card: `metrics.<split>_deployed_<precision>` (for
 * example `metrics.test_deployed_int8`) with the averaged metrics, the image count, the
 * engine, the file and its SHA-256 (graph and external data), and the date. The card is rewritten atomically and
 * validated first.
 *
 * @module
 */
import type { ImageMetrics } from "../../lib/metrics/image_metrics.ts";
import type { RuntimeInfo } from "../../src/models/model_version.ts";
import { childObject, updateCard } from "../../src/models/card_file.ts";
import { modelSha256 } from "../../src/models/hash.ts";
import type { ModelTarget } from "./model_target.ts";

/** The card key of an evaluation. */
export function metricsKey(split: string, precision: string): string {
  return `${split}_deployed_${precision}`;
}

function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

/** Dice, IoU, HD95, precision and recall rounded to 4 decimals. */
export function roundedMetrics(mean: ImageMetrics): Record<string, number> {
  return {
    dice: round4(mean.dice),
    iou: round4(mean.iou),
    hd95: round4(mean.hd95),
    precision: round4(mean.precision),
    recall: round4(mean.recall),
  };
}

/** The record stored under the key. */
export async function metricsRecord(
  target: ModelTarget,
  mean: ImageMetrics,
  n: number,
  runtime: RuntimeInfo,
  data: string,
): Promise<Record<string, unknown>> {
  return {
    ...roundedMetrics(mean),
    n,
    engine: runtime.engine,
    threads: runtime.threads,
    file: target.file,
    sha256: await modelSha256(target.dir, target.file),
    data,
    date: new Date().toISOString().slice(0, 10),
    measured_with: "tools/evaluate (Deno serving path: decodeImage → segmentImage)",
  };
}

/**
 * Writes the record into the card.
 * @throws {CardError} when the card would become invalid (it is left as it was)
 */
export async function writeMetrics(
  dir: string,
  key: string,
  record: Record<string, unknown>,
): Promise<void> {
  await updateCard(dir, (raw) => {
    childObject(raw, "metrics")[key] = record;
  });
}

/**
 * Sets `postprocess.largest_component` and records the val scores behind the choice as
 * `metrics.val_postprocess_choice`.
 * @throws {CardError} when the card would become invalid (it is left as it was)
 */
export async function writePostprocessChoice(
  dir: string,
  chosen: boolean,
  record: Record<string, unknown>,
): Promise<void> {
  await updateCard(dir, (raw) => {
    childObject(raw, "postprocess").largest_component = chosen;
    childObject(raw, "metrics").val_postprocess_choice = record;
  });
}
