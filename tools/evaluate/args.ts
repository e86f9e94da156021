/**
 * Command-line arguments of `deno task evaluate`.
 *
 * @module
 */
import { parseStrict, positiveInt, UsageError } from "../cli_args.ts";
import { type EngineChoice, parseEngineChoice } from "../../src/engines/select.ts";
import type { Precision } from "../../src/models/model_version.ts";
import { SPLITS } from "./dataset.ts";

/** Usage text. */
export const USAGE =
  `Evaluate a deployed model through the serving path (Dice, IoU, HD95, precision, recall).

  deno task evaluate -- --model models/<name>/<version>[/model.int8.onnx] --data <set folder> [options]

Options:
  --split train|val|test   which split (default test)
  --precision fp32|int8    with a version folder: which file (default: the card's precision)
  --engine auto|native|wasm|webgpu   engine to run on (default native)
  --threads N              intra-op threads
  --csv FILE               also write per-image metrics as CSV
  --write-card             record the result in the card as metrics.<split>_deployed_<precision>
  --choose-postprocess     on the val split (the default then; no other split is allowed):
                           score the masks with and without keeping only the largest region
                           and pick the better; with --write-card set the card's
                           postprocess.largest_component and record metrics.val_postprocess_choice
  --quiet                  no per-image progress lines
  -h, --help               this text

The data folder holds <split>/images/<id>.png and <split>/masks/<id>.png (0/255).`;

/** Parsed options. */
export interface EvaluateArgs {
  model: string;
  data: string;
  split: string;
  precision?: Precision;
  engine: EngineChoice;
  threads?: number;
  csv?: string;
  writeCard: boolean;
  /** decide the card's postprocess on val instead of a plain evaluation */
  choosePostprocess: boolean;
  quiet: boolean;
}

export { UsageError };

/**
 * Parses the arguments.
 * @returns the options, or null when help was asked for
 * @throws {UsageError} for unknown or invalid arguments
 */
export function parseEvaluateArgs(argv: string[]): EvaluateArgs | null {
  const parsed = parseStrict(argv, {
    model: { type: "string" },
    data: { type: "string" },
    split: { type: "string" },
    precision: { type: "string" },
    engine: { type: "string" },
    threads: { type: "string" },
    csv: { type: "string" },
    "write-card": { type: "boolean" },
    "choose-postprocess": { type: "boolean" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const v = parsed.values;
  if (v.help) return null;
  if (!v.model) throw new UsageError("--model <models/name/version> is required");
  if (!v.data) throw new UsageError("--data <data set folder> is required");
  const choosePostprocess = !!v["choose-postprocess"];
  const split = v.split ?? (choosePostprocess ? "val" : "test");
  if (!(SPLITS as readonly string[]).includes(split)) {
    throw new UsageError(`--split must be one of ${SPLITS.join(", ")}`);
  }
  if (choosePostprocess && split !== "val") {
    throw new UsageError("--choose-postprocess decides on the val split only (never on test)");
  }
  if (v.precision !== undefined && v.precision !== "fp32" && v.precision !== "int8") {
    throw new UsageError("--precision must be fp32 or int8");
  }
  let engine: EngineChoice;
  try {
    engine = parseEngineChoice(v.engine ?? "native");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const threads = positiveInt(v.threads, "threads");
  return {
    model: v.model,
    data: v.data,
    split,
    precision: v.precision as Precision | undefined,
    engine,
    threads,
    csv: v.csv,
    writeCard: !!v["write-card"],
    choosePostprocess,
    quiet: !!v.quiet,
  };
}
