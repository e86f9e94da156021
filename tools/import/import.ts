/**
 * `deno task import`: one ONNX file (and its external data) into a repository version
 * `<repo>/<name>/<version>/` — `model.onnx`, `model.onnx.data` when the weights are
 * external (every tensor's stored location rewritten to that name, so the pair loads
 * wherever it is copied), and a `model.json` card made from what the graph says.
 *
 * The version is staged in a hidden folder of the repository (a watching server ignores
 * it), test-loaded on the chosen engine and run once through the serving path on a
 * synthetic image; with labelled images the normalisation, output kind and threshold are
 * chosen by val Dice. Only then is the folder renamed into place, so a half-made version
 * is never served; on any failure the staging folder is removed.
 *
 * @module
 */
import { join } from "node:path";
import type { DecodedImage } from "../../src/imaging/image.ts";
import { parseCard } from "../../src/models/card.ts";
import { type LoadOptions, ModelVersion } from "../../src/models/model_version.ts";
import type { ModelEntry } from "../../src/models/repository.ts";
import { modelSha256 } from "../../src/models/hash.ts";
import { relocateExternalData } from "../../src/onnx/external_data.ts";
import { encodeModel } from "../../src/onnx/proto.ts";
import { segmentImage } from "../../src/segment.ts";
import { listPairs } from "../evaluate/dataset.ts";
import { writeFileAtomic } from "../../src/models/card_file.ts";
import type { ImportArgs } from "./args.ts";
import { type Candidate, type Choice, chooseInputAndOutput, THRESHOLDS } from "./choose.ts";
import { type GraphFacts, ImportError, readGraphFacts } from "./graph_facts.ts";
import { dataStatistics, fixedPreset, type Normalisation, PRESET_NAMES } from "./normalisation.ts";

/** What an import did. */
export interface ImportResult {
  dir: string;
  card: Record<string, unknown>;
  /** the val table, when labelled images were given */
  choice?: Choice;
  warnings: string[];
}

/** The data file name written beside `model.onnx`. */
export const DATA_FILE = "model.onnx.data";

async function nextVersion(modelDir: string): Promise<string> {
  let max = 0;
  try {
    for await (const e of Deno.readDir(modelDir)) {
      if (e.isDirectory && /^\d+$/.test(e.name)) max = Math.max(max, Number(e.name));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return String(max + 1);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the graph (and its relocated data) into the staging folder. */
async function writeModelFiles(source: string, facts: GraphFacts, dir: string): Promise<void> {
  if (facts.external.length === 0) {
    await Deno.copyFile(source, join(dir, "model.onnx"));
    return;
  }
  const data = relocateExternalData(facts.model, facts.external, DATA_FILE);
  await Deno.writeFile(join(dir, DATA_FILE), data);
  await Deno.writeFile(join(dir, "model.onnx"), encodeModel(facts.model));
}

type DraftCard = Record<string, unknown> & {
  input: Record<string, unknown>;
  output: Record<string, unknown>;
};

function draftCard(
  args: ImportArgs,
  version: string,
  facts: GraphFacts,
  norm: Normalisation,
): DraftCard {
  const fixed = facts.height !== null;
  return {
    schema: 1,
    name: args.name,
    version,
    ...(args.title ? { title: args.title } : {}),
    task: "binary-segmentation",
    label: args.label,
    trained: true,
    ...(args.modalities ? { modalities: args.modalities } : {}),
    // a DICOM SEG names the algorithm; an imported model is not a TinyUnet (the default name)
    algorithm: { name: args.name },
    input: {
      name: facts.inputName,
      layout: "NCHW",
      channels: facts.channels,
      height: facts.height,
      width: facts.width,
      resize: fixed || args.longSide === null ? null : { long_side: args.longSide },
      pad_multiple: facts.padMultiple,
      mean: norm.mean,
      std: norm.std,
    },
    output: { name: facts.outputName, kind: facts.outputKind },
    threshold: 0.5,
    postprocess: { largest_component: false },
    files: { fp32: "model.onnx" },
    precision: "fp32",
    engine: "auto",
  };
}

/** A grey-to-colour gradient, to run the serving path once before any data. */
function probeImage(width = 96, height = 64): DecodedImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    data[3 * i] = (i % width) * 2;
    data[3 * i + 1] = Math.floor(i / width) * 3;
    data[3 * i + 2] = 128;
  }
  return { width, height, channels: 3, data, maxValue: 255, source: "probe" };
}

/** Loads a draft card from the staging folder as the server would, and runs the probe. */
async function testLoad(card: DraftCard, dir: string, options: LoadOptions, engineName: string) {
  const parsed = parseCard(structuredClone(card), join(dir, "model.json"));
  const entry: ModelEntry = { name: parsed.name, version: parsed.version, dir, card: parsed };
  let model: ModelVersion;
  try {
    model = await ModelVersion.load(entry, options);
  } catch (err) {
    throw new ImportError(
      `the ${engineName} engine cannot load it: ${(err as Error).message}`,
    );
  }
  try {
    await segmentImage(model, probeImage());
  } catch (err) {
    throw new ImportError(`it loads but the serving path fails on it: ${(err as Error).message}`);
  } finally {
    await model.unload();
  }
}

function pct(v: number): string {
  return v.toFixed(3);
}

/** The printed table of candidates (one row each, Dice per threshold). */
export function choiceTable(choice: Choice): string {
  const head = `normalisation        mean / std                          output          ${
    THRESHOLDS.map((t) => `@${t}`.padStart(6)).join("")
  }   best`;
  const rows = choice.candidates.map((c) => {
    const ms = `${c.normalisation.mean.join(",")} / ${c.normalisation.std.join(",")}`;
    const mark = c === choice.best ? " ←" : c.invalid ? ` (${c.invalid})` : "";
    return `${c.normalisation.name.padEnd(20)} ${ms.padEnd(35)} ${c.kind.padEnd(15)} ${
      c.diceByThreshold.map((d) => pct(d).padStart(6)).join("")
    }   ${pct(c.dice)} @${c.threshold}${mark}`;
  });
  return [head, ...rows].join("\n");
}

function candidateRecord(c: Candidate) {
  return {
    normalisation: c.normalisation.name,
    mean: c.normalisation.mean,
    std: c.normalisation.std,
    kind: c.kind,
    ...(c.invalid ? { invalid: c.invalid } : {}),
    dice_by_threshold: Object.fromEntries(
      THRESHOLDS.map((t, i) => [String(t), Math.round(c.diceByThreshold[i] * 1e4) / 1e4]),
    ),
  };
}

async function normalisationsToTry(args: ImportArgs, channels: 1 | 3): Promise<Normalisation[]> {
  const fromData = async () => {
    const data = args.data!;
    const split = await exists(join(data, "train", "images")) ? "train" : args.split;
    const pairs = (await listPairs(data, split)).slice(0, args.maxImages);
    return await dataStatistics(pairs.map((p) => p.image), channels);
  };
  const n = args.normalize;
  if (n === undefined) {
    const out: Normalisation[] = [];
    for (const name of PRESET_NAMES) {
      out.push(name === "data" ? await fromData() : fixedPreset(name, channels));
    }
    return out;
  }
  if (n === "data") return [await fromData()];
  if (typeof n === "string") return [fixedPreset(n, channels)];
  if (n.mean.length !== channels) {
    throw new ImportError(
      `--normalize gives ${n.mean.length} values; the model has ${channels} channels`,
    );
  }
  return [{ name: "given", description: "--normalize", mean: n.mean, std: n.std }];
}

/**
 * Imports a model.
 * @param log progress, the table and warnings (stderr in the CLI)
 * @throws {ImportError} when the model (or data) cannot be used; nothing is left behind
 */
export async function importModel(
  args: ImportArgs,
  log: (line: string) => void = () => {},
): Promise<ImportResult> {
  const facts = await readGraphFacts(args.source, { channels: args.channels, output: args.output });
  const modelDir = join(args.repo, args.name);
  const version = args.version ?? await nextVersion(modelDir);
  const target = join(modelDir, version);
  if (await exists(target)) {
    throw new ImportError(`${target} already exists; choose another --version`);
  }
  log(
    `${args.source}: input "${facts.inputName}" ${facts.channels} channel(s), ${
      facts.height === null ? "dynamic size" : `fixed ${facts.height}×${facts.width}`
    }; output "${facts.outputName}" read as ${facts.outputKind} (${facts.outputKindReason})${
      facts.external.length
        ? `; external data: ${facts.external.map((f) => f.file).join(", ")}`
        : ""
    }`,
  );
  const warnings: string[] = [];
  if (facts.tfjsUnsupported.length) {
    warnings.push(
      `the tfjs-wasm engine cannot run ${
        facts.tfjsUnsupported.join(", ")
      } (native, wasm and webgpu can)`,
    );
  }
  await Deno.mkdir(args.repo, { recursive: true });
  const stage = await Deno.makeTempDir({ dir: args.repo, prefix: ".import-" });
  try {
    await writeModelFiles(args.source, facts, stage);
    const options: LoadOptions = { engine: args.engine, maxQueue: 4 };
    const normalisations = await normalisationsToTry(args, facts.channels);
    const card = draftCard(args, version, facts, normalisations[0]);
    await testLoad(card, stage, options, String(args.engine));
    const provenance: Record<string, unknown> = {
      source: args.source.split("/").pop(),
      source_external_data: facts.external.map((f) => f.file),
      producer: facts.info.producer,
      opset: facts.info.opset,
      output_kind: { value: facts.outputKind, from: `graph: ${facts.outputKindReason}` },
      date: new Date().toISOString().slice(0, 10),
      tool: "deno task import",
    };
    let choice: Choice | undefined;
    if (args.data) {
      const pairs = (await listPairs(args.data, args.split)).slice(0, args.maxImages);
      log(
        `scoring ${normalisations.length} normalisation(s) on ${pairs.length} ${args.split} images of ${args.data}`,
      );
      choice = await chooseInputAndOutput(
        card,
        stage,
        normalisations,
        facts.outputKind,
        pairs,
        options,
        (c) =>
          log(`  ${c.normalisation.name} (${c.kind}): val Dice ${pct(c.dice)} @${c.threshold}`),
      );
      log(choiceTable(choice));
      log(`(marking every pixel foreground: val Dice ${pct(choice.allForegroundDice)})`);
      const best = choice.best;
      card.input.mean = best.normalisation.mean;
      card.input.std = best.normalisation.std;
      card.output.kind = best.kind;
      card.threshold = best.threshold;
      if (best.kind !== facts.outputKind) {
        provenance.output_kind = {
          value: best.kind,
          from: `val Dice (the graph suggested ${facts.outputKind}: ${facts.outputKindReason})`,
        };
      }
      if (best.dice < args.warnBelow || best.dice <= choice.allForegroundDice + 0.02) {
        warnings.push(
          `every candidate scored low: best val Dice ${pct(best.dice)} (marking every pixel ` +
            `foreground scores ${
              pct(choice.allForegroundDice)
            }; --warn-below ${args.warnBelow}). ` +
            `Check the channels, the label (is the mask inverted?), the output, or give ` +
            `--normalize MEAN/STD as the model was trained`,
        );
      }
      card.metrics = {
        val_import_choice: {
          chosen: {
            normalisation: best.normalisation.name,
            mean: best.normalisation.mean,
            std: best.normalisation.std,
            kind: best.kind,
            threshold: best.threshold,
            dice: Math.round(best.dice * 1e4) / 1e4,
          },
          candidates: choice.candidates.map(candidateRecord),
          all_foreground_dice: Math.round(choice.allForegroundDice * 1e4) / 1e4,
          rule: "highest mean Dice; ties keep the earlier candidate and the threshold nearest 0.5",
          n: choice.n,
          data: args.data,
          split: args.split,
          date: provenance.date,
          measured_with: "tools/import (Deno serving path: decodeImage → segmentImage)",
        },
      };
    } else {
      provenance.normalisation = `given: --normalize ${normalisations[0].name}`;
    }
    provenance.sha256 = await modelSha256(stage, "model.onnx");
    card.import = provenance;
    parseCard(structuredClone(card), join(target, "model.json"));
    await writeFileAtomic(join(stage, "model.json"), JSON.stringify(card, null, 2) + "\n");
    await Deno.mkdir(modelDir, { recursive: true });
    if (await exists(target)) {
      throw new ImportError(`${target} appeared meanwhile; choose another --version`);
    }
    await Deno.rename(stage, target);
    for (const w of warnings) log(`warning: ${w}`);
    return { dir: target, card, choice, warnings };
  } catch (err) {
    await Deno.remove(stage, { recursive: true }).catch(() => {});
    throw err;
  }
}
