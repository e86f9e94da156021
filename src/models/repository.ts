/**
 * The model repository on disk: `<root>/<name>/<version>/model.json` plus the ONNX files
 * the card names (and any external-data files those reference). Folders without a
 * `model.json` (sample images, notes) are ignored.
 *
 * @module
 */
import { isAbsolute, join, sep as SEP } from "node:path";
import type { ModelSource } from "../engines/engine.ts";
import type { ModelInfo } from "../onnx/inspect.ts";
import { inspectModelCached } from "../onnx/inspect_cache.ts";
import { CardError, type ModelCard, parseCard } from "./card.ts";

/** A model version found on disk, card validated. */
export interface ModelEntry {
  name: string;
  version: string;
  dir: string;
  card: ModelCard;
}

/**
 * The repository's own preferences, from an optional `<root>/repository.json`
 * (`{"default_model": "isic2017"}`).
 * @throws {Error} naming the file when it is not valid JSON or `default_model` is not a string
 */
export async function readRepositorySettings(root: string): Promise<{ defaultModel?: string }> {
  const file = join(root, "repository.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(file));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const value = (raw as { default_model?: unknown } | null)?.default_model;
  if (value !== undefined && typeof value !== "string") {
    throw new Error(`${file}: default_model must be a model name`);
  }
  return { defaultModel: value };
}

/** Compares versions: numerically when both are numbers, else as strings. */
export function compareVersions(a: string, b: string): number {
  const na = Number(a), nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a.localeCompare(b);
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Reads and validates one version folder's card.
 * @throws {CardError} for a missing, unparsable or invalid card, or one whose name/version
 *   disagree with its folder
 */
export async function readEntry(root: string, name: string, version: string): Promise<ModelEntry> {
  const dir = join(root, name, version);
  const file = join(dir, "model.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(file));
  } catch (err) {
    throw new CardError(file, [
      err instanceof Deno.errors.NotFound
        ? "file not found"
        : `not valid JSON: ${(err as Error).message}`,
    ]);
  }
  if (raw && typeof raw === "object") {
    // The folder is the source of truth for name and version; a card may omit them.
    const obj = raw as Record<string, unknown>;
    obj.name ??= name;
    obj.version ??= version;
    if (obj.name !== name || String(obj.version) !== version) {
      throw new CardError(file, [
        `card says ${obj.name}/${obj.version} but lives in ${name}/${version}`,
      ]);
    }
    obj.version = String(obj.version);
  }
  return { name, version, dir, card: parseCard(raw, file) };
}

/**
 * Lists every model version under `root`, sorted by name then version, for tools that
 * want every card or none (the server loads versions one by one instead, see
 * `ModelRegistry.loadAll`).
 * @throws {CardError} for the first invalid card
 */
export async function scanRepository(root: string): Promise<ModelEntry[]> {
  const entries: ModelEntry[] = [];
  for await (const model of Deno.readDir(root)) {
    if (!model.isDirectory || model.name.startsWith(".")) continue;
    for await (const version of Deno.readDir(join(root, model.name))) {
      const dir = join(root, model.name, version.name);
      if (!version.isDirectory || !(await isDir(dir))) continue;
      try {
        await Deno.stat(join(dir, "model.json"));
      } catch {
        continue;
      }
      entries.push(await readEntry(root, model.name, version.name));
    }
  }
  return entries.sort((a, b) =>
    a.name.localeCompare(b.name) || compareVersions(a.version, b.version)
  );
}

/**
 * Loads the ONNX bytes of one precision, with its external data, and checks the model
 * against the card (input/output names, channels, fixed size). When the graph names a
 * data file that is missing but `<model file>.data` is there (the pair was renamed), the
 * data is inlined into the graph in memory and a note says so.
 * @returns the source for an engine, what the graph says, and notes for the runtime info
 * @throws {Error} naming the file when it is missing, not ONNX, disagrees with the card, or
 *   lacks its external data (naming the file the graph expects)
 */
export async function readModelSource(
  entry: ModelEntry,
  precision: "fp32" | "int8",
): Promise<{ source: ModelSource; info: ModelInfo; notes: string[] }> {
  const fileName = precision === "int8" ? entry.card.files.int8 : entry.card.files.fp32;
  if (!fileName) throw new Error(`${entry.name}/${entry.version} has no ${precision} model`);
  const path = await confined(entry.dir, fileName);
  const bytes = await Deno.readFile(path).catch((err) => {
    throw new Error(`cannot read ${path}: ${err.message}`);
  });
  let info: ModelInfo;
  try {
    info = await inspectModelCached(bytes);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  checkAgainstCard(info, entry.card, path);
  if (info.externalData.length === 0) {
    return { source: { path, bytes, externalData: [] }, info, notes: [] };
  }
  // card files and external data alike must stay inside the version folder (symlinks too)
  for (const location of info.externalData) await confined(entry.dir, location);
  // graphs with external data (large imports) are rare: their protobuf code loads only for them
  const { inlineExternalData, readExternalData } = await import("../onnx/external_data.ts");
  const external = await readExternalData(entry.dir, fileName, info.externalData);
  if (external.renamed) {
    const { decodeModel, encodeModel } = await import("../onnx/proto.ts");
    const model = decodeModel(bytes);
    inlineExternalData(model, external.files);
    const { expected, found } = external.renamed;
    return {
      source: { path, bytes: encodeModel(model), externalData: [] },
      info,
      notes: [
        `external data: the graph names "${expected}"; loaded "${found}" instead (inlined in memory)`,
      ],
    };
  }
  const externalData = external.files.map((f) => ({ path: f.location, data: f.data }));
  return { source: { path, bytes, externalData }, info, notes: [] };
}

/**
 * The real path of `rel` inside `dir`, refusing one that leaves it (`..`, absolute, or a
 * symlink pointing out): card files and external data are confined alike.
 */
async function confined(dir: string, rel: string): Promise<string> {
  const root = await Deno.realPath(dir);
  const path = join(dir, rel);
  const real = await Deno.realPath(path).catch(() => join(root, rel)); // missing: fails when read
  if (isAbsolute(rel) || (real !== root && !real.startsWith(root + SEP))) {
    throw new Error(`${dir}: "${rel}" leaves the model version folder`);
  }
  return path;
}

function checkAgainstCard(info: ModelInfo, card: ModelCard, path: string) {
  const problems: string[] = [];
  if (info.opset < 13) problems.push(`opset ${info.opset} < 13`);
  const input = info.inputs.find((i) => i.name === card.input.name);
  if (!input) {
    problems.push(
      `no input named "${card.input.name}" (has ${info.inputs.map((i) => i.name).join(", ")})`,
    );
  }
  if (info.inputs.length !== 1) problems.push(`expected one input, found ${info.inputs.length}`);
  if (!info.outputs.some((o) => o.name === card.output.name)) {
    problems.push(
      `no output named "${card.output.name}" (has ${info.outputs.map((o) => o.name).join(", ")})`,
    );
  }
  if (input) {
    const [, c, h, w] = input.dims;
    if (input.dims.length !== 4) problems.push(`input is rank ${input.dims.length}, expected NCHW`);
    if (typeof c === "number" && c !== card.input.channels) {
      problems.push(`input has ${c} channels, card says ${card.input.channels}`);
    }
    const fixed = typeof h === "number" && typeof w === "number";
    if (fixed && (card.input.height !== h || card.input.width !== w)) {
      problems.push(`input is fixed at ${h}×${w}; the card must say height ${h}, width ${w}`);
    }
  }
  if (problems.length) throw new Error(`${path} does not match its card: ${problems.join("; ")}`);
}
