/**
 * `inspectModel` with its answers kept in the cache folder (`src/cache_folder.ts`), so a
 * start that finds them does not load the ONNX protobuf schema at all (onnx-proto and
 * protobufjs: ~40 ms of module evaluation, plus decoding each graph).
 *
 * An entry is keyed by the SHA-256 of the model bytes and of the inspector's own source
 * files, so a changed model or a changed inspector never reads a stale answer. An entry
 * that cannot be read or does not have the expected shape is worked out again and
 * rewritten; a folder that cannot be written (read-only image) only costs the saving.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { cacheFolder } from "../cache_folder.ts";
import type { ModelInfo } from "./inspect.ts";

/** The modules whose code decides what `inspectModel` answers. */
const INSPECTOR_FILES = ["inspect.ts", "receptive_field.ts", "attributes.ts", "proto.ts"];

let inspectorHash: string | null | undefined;

/** SHA-256 of the inspector's source (null when it cannot be read: no caching). */
function inspector(): string | null {
  if (inspectorHash !== undefined) return inspectorHash;
  try {
    const hash = createHash("sha256");
    for (const file of INSPECTOR_FILES) {
      hash.update(Deno.readFileSync(new URL(`./${file}`, import.meta.url)));
    }
    inspectorHash = hash.digest("hex");
  } catch {
    inspectorHash = null;
  }
  return inspectorHash;
}

/** Where the entry for these bytes lives (null: no cache). */
export function inspectCachePath(bytes: Uint8Array, folder: string | null): string | null {
  const code = inspector();
  if (!folder || !code) return null;
  const key = createHash("sha256").update(code).update(bytes).digest("hex");
  return join(folder, `model-info-${key.slice(0, 40)}.json`);
}

/** Whether a parsed entry has the shape of a `ModelInfo`. */
function isModelInfo(v: unknown): v is ModelInfo {
  const i = v as ModelInfo;
  return typeof i === "object" && i !== null && typeof i.opset === "number" &&
    typeof i.producer === "string" && Array.isArray(i.inputs) && Array.isArray(i.outputs) &&
    Array.isArray(i.externalData) && Array.isArray(i.ops) &&
    typeof i.parameterCount === "number" &&
    (i.receptiveField === null || typeof i.receptiveField === "object");
}

/**
 * What the graph in `bytes` says (see `inspectModel`), from the cache when it is there.
 * @param folder the cache folder (default: from the environment; null for none)
 * @throws {Error} when the bytes are not an ONNX model (never cached)
 */
export async function inspectModelCached(
  bytes: Uint8Array,
  folder: string | null = environmentFolder(),
): Promise<ModelInfo> {
  const path = inspectCachePath(bytes, folder);
  if (path) {
    try {
      const entry = JSON.parse(await Deno.readTextFile(path));
      if (isModelInfo(entry)) return entry;
    } catch { /* missing or unreadable: inspect */ }
  }
  const { inspectModel } = await import("./inspect.ts");
  const info = inspectModel(bytes);
  if (path) await writeEntry(path, info);
  return info;
}

/** The cache folder the environment names (null when it names none or cannot be read). */
function environmentFolder(): string | null {
  try {
    return cacheFolder(Deno.env.toObject());
  } catch {
    return null; // no --allow-env
  }
}

async function writeEntry(path: string, info: ModelInfo): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.writeTextFile(tmp, JSON.stringify(info));
    await Deno.rename(tmp, path);
  } catch {
    await Deno.remove(tmp).catch(() => {});
  }
}
