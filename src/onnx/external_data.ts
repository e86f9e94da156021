/**
 * External-data files of an ONNX model (weights stored beside the graph, as PyTorch 2
 * exporters write them): finding them on disk, inlining them, and rewriting their
 * `location` so a graph and its data can be renamed as a pair.
 *
 * Why a rename needs help: the graph stores its data file's name (`location`) inside
 * itself, so renaming `ref-student.onnx.data` to `model.onnx.data` breaks the link.
 * {@link readExternalData} accepts that one case — the graph names a single data file, it
 * is missing, and `<model file>.data` is there — and the caller then loads the graph with
 * the data inlined in memory (every engine takes bytes; onnxruntime-node would otherwise
 * look for the stored name on disk). `deno task import` instead rewrites the location
 * ({@link relocateExternalData}), so imported models never need the fallback.
 *
 * @module
 */
import { join } from "node:path";
import type { onnx } from "./proto.ts";
import { checkExternalLocation, externalLocation, isExternal } from "./tensor_data.ts";

/** One external-data file as the graph names it, with its bytes. */
export interface ExternalFile {
  /** the `location` written in the graph */
  location: string;
  /** the file actually read (differs from `location` after a rename) */
  file: string;
  data: Uint8Array;
}

/** The external-data files of a model, read from its folder. */
export interface ExternalDataRead {
  files: ExternalFile[];
  /** set when the data was found under `<model file>.data` instead of the stored name */
  renamed?: { expected: string; found: string };
}

function field(t: onnx.ITensorProto, key: string): string | undefined {
  return (t.externalData ?? []).find((e) => e.key === key)?.value ?? undefined;
}

/** Every tensor of the main graph that can hold data: initializers and Constant values. */
function dataTensors(model: onnx.IModelProto): onnx.ITensorProto[] {
  const out = [...(model.graph?.initializer ?? [])];
  for (const node of model.graph?.node ?? []) {
    for (const a of node.attribute ?? []) if (a.t) out.push(a.t);
  }
  return out;
}

async function readIfFile(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * Reads the external-data files a graph names, from the model's folder.
 * @param dir the version folder
 * @param modelFile the `.onnx` file name inside `dir`
 * @param locations the `location`s the graph names (see `inspectModel().externalData`)
 * @throws {Error} naming the missing file, the name the graph expects and what else was tried
 */
export async function readExternalData(
  dir: string,
  modelFile: string,
  locations: readonly string[],
): Promise<ExternalDataRead> {
  for (const location of locations) checkExternalLocation(location, `${dir}/${modelFile}`);
  const files: ExternalFile[] = [];
  const missing: string[] = [];
  for (const location of locations) {
    const data = await readIfFile(join(dir, location));
    if (data) files.push({ location, file: location, data });
    else missing.push(location);
  }
  if (missing.length === 0) return { files };
  const renamedName = `${modelFile}.data`;
  if (locations.length === 1) {
    const data = await readIfFile(join(dir, renamedName));
    if (data) {
      return {
        files: [{ location: locations[0], file: renamedName, data }],
        renamed: { expected: locations[0], found: renamedName },
      };
    }
  }
  const tried = locations.length === 1 ? `; ${renamedName} is not there either` : "";
  throw new Error(
    `external data missing in ${dir}: ${modelFile} expects ${
      missing.map((m) => `"${m}"`).join(", ")
    } (the file name stored inside the graph)${tried}. Rename the data file back, ` +
      `or run deno task import on the original pair to rewrite the name`,
  );
}

/**
 * Each external tensor of `model` with its bytes (a view into its file).
 * @throws {Error} when a tensor's file was not read or its range runs past the file's end
 */
function* externalTensors(model: onnx.IModelProto, files: readonly ExternalFile[]) {
  const byLocation = new Map(files.map((f) => [f.location, f]));
  for (const tensor of dataTensors(model)) {
    if (!isExternal(tensor)) continue;
    const location = externalLocation(tensor) ?? "";
    const file = byLocation.get(location);
    if (!file) throw new Error(`tensor "${tensor.name}": external file "${location}" was not read`);
    const offset = Number(field(tensor, "offset") ?? 0);
    const length = field(tensor, "length") !== undefined
      ? Number(field(tensor, "length"))
      : file.data.length - offset;
    if (offset + length > file.data.length) {
      throw new Error(`external data of "${tensor.name}" runs past the end of ${file.file}`);
    }
    yield { tensor, bytes: file.data.subarray(offset, offset + length) };
  }
}

/**
 * Moves every external tensor's bytes into the graph itself (`raw_data`), any data type.
 * @param files the model's external files (from {@link readExternalData})
 * @returns how many bytes were inlined
 * @throws {Error} when a tensor's range runs past its file's end
 */
export function inlineExternalData(
  model: onnx.IModelProto,
  files: readonly ExternalFile[],
): number {
  let bytes = 0;
  for (const { tensor: t, bytes: data } of externalTensors(model, files)) {
    const length = data.length;
    t.rawData = data.slice();
    t.externalData = [];
    t.dataLocation = 0;
    bytes += length;
  }
  return bytes;
}

/**
 * Rewrites every external tensor to live in one file named `location` (the tensors'
 * bytes are copied, in graph order, 16-byte aligned), so the graph and its data can be
 * saved as `model.onnx` + `model.onnx.data`.
 * @returns the new data file's bytes (empty when the model had no external data)
 * @throws {Error} when a tensor's range runs past its file's end
 */
export function relocateExternalData(
  model: onnx.IModelProto,
  files: readonly ExternalFile[],
  location: string,
): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const { tensor: t, bytes: data } of externalTensors(model, files)) {
    const length = data.length;
    const pad = (16 - (size % 16)) % 16;
    if (pad) parts.push(new Uint8Array(pad));
    size += pad;
    parts.push(data);
    t.externalData = [
      { key: "location", value: location },
      { key: "offset", value: String(size) },
      { key: "length", value: String(length) },
    ];
    t.dataLocation = 1;
    size += length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
