/**
 * One evaluation from parsed arguments: resolve the model, load it as the server does
 * (`loadModel`), score the split, optionally write the CSV and the card.
 *
 * @module
 */
import { loadModel } from "../../mod.ts";
import { writeFileAtomic } from "../../src/models/card_file.ts";
import type { EvaluateArgs } from "./args.ts";
import {
  metricsKey,
  metricsRecord,
  roundedMetrics,
  writeMetrics,
  writePostprocessChoice,
} from "./card_metrics.ts";
import { choosePostprocess } from "./choose_postprocess.ts";
import { rowsToCsv } from "./csv.ts";
import { listPairs } from "./dataset.ts";
import { evaluatePairs } from "./evaluate.ts";
import { resolveModelTarget, staleInt8Reason } from "./model_target.ts";

/** The summary printed as JSON. */
export type EvaluationSummary = Record<string, unknown>;

/**
 * Runs an evaluation.
 * @param log progress and notes (stderr in the CLI)
 * @throws {Error} for a bad model or data folder, or a stale int8 file with `--write-card`
 */
export async function runEvaluation(
  args: EvaluateArgs,
  log: (line: string) => void = () => {},
): Promise<EvaluationSummary> {
  const target = await resolveModelTarget(args.model, args.precision);
  const stale = target.precision === "int8" ? await staleInt8Reason(target) : null;
  if (stale && args.writeCard) throw new Error(`refusing to record int8 metrics: ${stale}`);
  if (stale) log(`warning: ${stale}`);
  const pairs = await listPairs(args.data, args.split);
  const model = await loadModel(target.dir, { engine: args.engine, threads: args.threads });
  let diceSum = 0;
  const progress = (done: number, row: { id: string; dice: number; hd95: number }) => {
    diceSum += row.dice;
    if (!args.quiet) {
      log(
        `[${done}/${pairs.length}] ${row.id} dice=${row.dice.toFixed(4)} hd95=${
          row.hd95.toFixed(2)
        } (mean dice ${(diceSum / done).toFixed(4)})`,
      );
    }
  };
  let result;
  try {
    log(
      `${model.name}/${model.version} ${target.precision} (${target.file}) on ${pairs.length} ${args.split} images of ${args.data}`,
    );
    if (args.choosePostprocess) {
      const choice = await choosePostprocess(model, pairs, target.precision, progress);
      const record = {
        raw: roundedMetrics(choice.raw),
        largest_component: roundedMetrics(choice.largestComponent),
        chosen: { largest_component: choice.chosen },
        rule: "largest_component when it raises the mean val Dice",
        n: choice.n,
        file: target.file,
        data: args.data,
        date: new Date().toISOString().slice(0, 10),
        measured_with: "tools/evaluate --choose-postprocess (Deno serving path)",
      };
      if (args.writeCard) await writePostprocessChoice(target.dir, choice.chosen, record);
      return {
        model: target.card.name,
        version: target.card.version,
        key: "val_postprocess_choice",
        ...record,
        ...(args.writeCard ? { card: "postprocess, metrics.val_postprocess_choice" } : {}),
      };
    }
    result = await evaluatePairs(model, pairs, target.precision, progress);
  } finally {
    await model.unload();
  }
  const record = await metricsRecord(target, result.mean, result.n, result.runtime, args.data);
  const key = metricsKey(args.split, target.precision);
  const summary: EvaluationSummary = {
    model: target.card.name,
    version: target.card.version,
    key,
    ...record,
  };
  const reference = (target.card.metrics?.[args.split] as { dice?: number } | undefined)?.dice;
  if (typeof reference === "number") {
    summary.reference = {
      key: `metrics.${args.split}`,
      dice: reference,
      dice_difference: Math.round((result.mean.dice - reference) * 1e4) / 1e4,
    };
  }
  if (args.csv) {
    await writeFileAtomic(args.csv, rowsToCsv(result.rows));
    summary.csv = args.csv;
  }
  if (args.writeCard) {
    await writeMetrics(target.dir, key, record);
    summary.card = `metrics.${key}`;
  }
  return summary;
}
