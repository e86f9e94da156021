/**
 * What `--model` names: a version folder (`models/<name>/<version>`, evaluated at the
 * card's default precision or `--precision`) or one of its ONNX files
 * (`models/<name>/<version>/model.int8.onnx`), which must be a file the card lists, so
 * the evaluated model is the one the server would run.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import type { ModelCard } from "../../src/models/card.ts";
import type { Precision } from "../../src/models/model_version.ts";
import { readEntry } from "../../src/models/repository.ts";
import { modelSha256 } from "../../src/models/hash.ts";

/** A resolved evaluation target. */
export interface ModelTarget {
  /** the version folder */
  dir: string;
  precision: Precision;
  /** the ONNX file name inside `dir` */
  file: string;
  card: ModelCard;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Resolves `--model` (and an optional `--precision`).
 * @throws {Error} for a missing folder or card, a file the card does not list, or a
 *   precision the card has no file for
 */
export async function resolveModelTarget(
  path: string,
  precision?: Precision,
): Promise<ModelTarget> {
  const abs = resolve(path);
  const named = abs.endsWith(".onnx") || await isFile(abs) ? basename(abs) : undefined;
  const dir = named ? dirname(abs) : abs;
  const entry = await readEntry(dirname(dirname(dir)), basename(dirname(dir)), basename(dir));
  const card = entry.card;
  const files: Partial<Record<Precision, string>> = {
    fp32: card.files.fp32,
    int8: card.files.int8,
  };
  const listed = Object.entries(files).filter(([, f]) => f).map(([p, f]) => `${p}: ${f}`).join(
    ", ",
  );
  let chosen = precision;
  if (named) {
    const match = (Object.keys(files) as Precision[]).find((p) => files[p] === named);
    if (!match) {
      throw new Error(`${named} is not one of the files the card of ${dir} lists (${listed})`);
    }
    if (precision && precision !== match) {
      throw new Error(
        `${named} is the card's ${match} file, but --precision ${precision} was asked for`,
      );
    }
    chosen = match;
  }
  chosen ??= card.precision;
  const file = files[chosen];
  if (!file) {
    throw new Error(
      `${dir} has no ${chosen} model (the card lists ${listed}); run deno task quantize first`,
    );
  }
  return { dir, precision: chosen, file, card };
}

/**
 * Why an int8 file may not belong to the current fp32 model, or null: the card's
 * `quantization.source.sha256` (recorded by `tools/quantize`) must match the fp32 file.
 */
export async function staleInt8Reason(target: ModelTarget): Promise<string | null> {
  const q = (target.card as Record<string, unknown>).quantization as {
    source?: { sha256?: string };
  } | undefined;
  const recorded = q?.source?.sha256;
  if (!recorded) return null;
  const now = await modelSha256(target.dir, target.card.files.fp32);
  return now === recorded
    ? null
    : `${target.card.files.int8} was quantised from a different ${target.card.files.fp32} (re-exported since?); run deno task quantize again`;
}
