/**
 * Command-line arguments of `deno task import`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { positiveInt, UsageError } from "../cli_args.ts";
import { type EngineChoice, parseEngineChoice } from "../../src/engines/select.ts";
import { SPLITS } from "../evaluate/dataset.ts";
import { PRESET_NAMES, type PresetName } from "./normalisation.ts";

/** Usage text. */
export const USAGE =
  `Import a binary-segmentation ONNX (with or without external data) into a model repository.

  deno task import -- <model.onnx> --name <name> [options]

Writes <repo>/<name>/<version>/model.onnx (+ model.onnx.data when the weights are external,
the stored data-file name rewritten so the pair keeps working) and a model.json card made from
what the graph says. Refuses, with the reason, a model the server could not run.

Options:
  --repo DIR             model repository (default models)
  --name NAME            model name (letters, digits, . _ -)
  --version V            version folder (default: one above the highest there, else 1)
  --label TEXT           what the mask marks (default foreground)
  --modalities US,CT     DICOM Modality codes the model is meant for (card "modalities")
  --title TEXT           a one-line description
  --data DIR             labelled images (<DIR>/<split>/images/<id>.png|jpg, masks/<id>.png):
                         choose the input normalisation among presets and the output
                         kind/threshold by Dice on them, and record the table in the card
  --split val            which split of --data to score on (default val; never test)
  --max-images N         score at most N images of the split (default 64)
  --normalize P          imagenet | unit ([0,1]) | symmetric ([-1,1]) | data (the data's own
                         mean/std) | MEAN/STD (e.g. 0.5,0.5,0.5/0.25,0.25,0.25): fixes the
                         normalisation instead of choosing it; required without --data
  --channels 1|3         input channels, when the graph leaves them dynamic
  --long-side N|native   dynamic-size models: resize the long side to N (default 256)
  --output NAME          which output is the mask, when the graph has several
  --engine E             engine to test-load on: native (default), wasm, webgpu, tfjs-wasm
  --warn-below D         warn when the best val Dice is below D (default 0.3)
  -h, --help             this text

Exit codes: 0 imported, 1 refused (the model or data cannot be used), 2 bad arguments.`;

/** Parsed options. */
export interface ImportArgs {
  source: string;
  repo: string;
  name: string;
  version?: string;
  label: string;
  modalities?: string[];
  title?: string;
  data?: string;
  split: string;
  maxImages: number;
  /** a preset, or explicit mean/std */
  normalize?: PresetName | { mean: number[]; std: number[] };
  channels?: 1 | 3;
  /** null: feed the image at its own size */
  longSide: number | null;
  output?: string;
  engine: EngineChoice;
  warnBelow: number;
}

export { UsageError };

const OPTIONS = {
  repo: { type: "string" },
  name: { type: "string" },
  version: { type: "string" },
  label: { type: "string" },
  modalities: { type: "string" },
  title: { type: "string" },
  data: { type: "string" },
  split: { type: "string" },
  "max-images": { type: "string" },
  normalize: { type: "string" },
  channels: { type: "string" },
  "long-side": { type: "string" },
  output: { type: "string" },
  engine: { type: "string" },
  "warn-below": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const NAME = /^[a-z0-9][a-z0-9._-]*$/i;
/** DICOM Modality (0008,0060): a code string of upper-case letters, digits, space, `_`. */
const MODALITY = /^[A-Z0-9_]{1,16}$/;

function numbers(text: string, what: string): number[] {
  const values = text.split(",").map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--normalize: ${what} "${text}" is not a comma list of numbers`);
  }
  return values;
}

function parseNormalize(value: string): ImportArgs["normalize"] {
  if ((PRESET_NAMES as readonly string[]).includes(value)) return value as PresetName;
  const [mean, std, extra] = value.split("/");
  if (std === undefined || extra !== undefined) {
    throw new UsageError(
      `--normalize must be one of ${PRESET_NAMES.join(", ")} or MEAN/STD, got "${value}"`,
    );
  }
  const m = numbers(mean, "mean"), s = numbers(std, "std");
  if (m.length !== s.length) throw new UsageError("--normalize: mean and std differ in length");
  if (s.some((v) => v <= 0)) throw new UsageError("--normalize: std values must be > 0");
  return { mean: m, std: s };
}

/**
 * Parses the arguments (the model file is the one positional argument).
 * @returns the options, or null when help was asked for
 * @throws {UsageError} for unknown, missing or invalid arguments
 */
export function parseImportArgs(argv: string[]): ImportArgs | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv[0] === "--" ? argv.slice(1) : argv,
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const positional = parsed.positionals;
  const v = parsed.values;
  if (v.help) return null;
  if (positional.length !== 1) {
    throw new UsageError(
      positional.length === 0
        ? "name the ONNX file to import"
        : `one ONNX file at a time (got ${positional.join(", ")})`,
    );
  }
  if (!v.name || !NAME.test(v.name)) {
    throw new UsageError(
      "--name is required: letters, digits, . _ - (starting with a letter or digit)",
    );
  }
  if (v.version !== undefined && !NAME.test(v.version)) {
    throw new UsageError("--version: letters, digits, . _ - only");
  }
  const split = v.split ?? "val";
  if (!(SPLITS as readonly string[]).includes(split)) {
    throw new UsageError(`--split must be one of ${SPLITS.join(", ")}`);
  }
  if (split === "test") {
    throw new UsageError("--split test: choices are made on val (or train), never on test");
  }
  const normalize = v.normalize === undefined ? undefined : parseNormalize(v.normalize);
  if (!v.data && (normalize === undefined || normalize === "data")) {
    throw new UsageError(
      "without --data the import cannot tell how the model wants its input: give --data <labelled images> " +
        "or --normalize imagenet|unit|symmetric|MEAN/STD",
    );
  }
  const modalities = v.modalities?.split(",").map((m) => m.trim().toUpperCase()).filter(Boolean);
  const badModality = modalities?.find((m) => !MODALITY.test(m));
  if (badModality !== undefined) {
    throw new UsageError(
      `--modalities: "${badModality}" is not a DICOM Modality code (e.g. US, CT, MR, XC, ES)`,
    );
  }
  if (v.channels !== undefined && v.channels !== "1" && v.channels !== "3") {
    throw new UsageError("--channels must be 1 or 3");
  }
  const longSide = v["long-side"] === "native"
    ? null
    : positiveInt(v["long-side"], "long-side") ?? 256;
  let engine: EngineChoice;
  try {
    engine = parseEngineChoice(v.engine ?? "native");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const warnBelow = v["warn-below"] === undefined ? 0.3 : Number(v["warn-below"]);
  if (!(warnBelow >= 0 && warnBelow <= 1)) throw new UsageError("--warn-below must be in [0, 1]");
  return {
    source: positional[0],
    repo: v.repo ?? "models",
    name: v.name,
    version: v.version,
    label: v.label ?? "foreground",
    modalities: modalities?.length ? modalities : undefined,
    title: v.title,
    data: v.data,
    split,
    maxImages: positiveInt(v["max-images"], "max-images") ?? 64,
    normalize,
    channels: v.channels === undefined ? undefined : Number(v.channels) as 1 | 3,
    longSide,
    output: v.output,
    engine,
    warnBelow,
  };
}
