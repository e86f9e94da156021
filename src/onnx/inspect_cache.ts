/**
 * `inspectModel` with its answers kept in the cache folder (`src/cache_folder.ts`), so a
 * start that finds them does not load the ONNX protobuf schema at all (onnx-proto and
 * protobufjs: ~40 ms of module evaluation, plus decoding each graph).
 *
 * An entry is keyed by the SHA-256 of the model bytes, of the inspector's own source files
 * and of the lockfile (which pins onnx-proto and protobufjs), so a changed model, inspector
 * or decoder never reads a stale answer; where the sources or the lockfile cannot be read
 * (a bundle without them) nothing is cached. An entry that cannot be read or does not have
 * the expected shape is worked out again and rewritten; a folder that cannot be written
 * (read-only image) only costs the saving. The folder keeps the newest
 * {@link MAX_ENTRIES} entries.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { cacheFolder, writeCacheFile } from "../cache_folder.ts";
import type { ModelInfo } from "./inspect.ts";

/** The modules whose code decides what `inspectModel` answers (a test checks the list). */
export const INSPECTOR_FILES = ["inspect.ts", "receptive_field.ts", "attributes.ts", "proto.ts"];

/** Entries kept in the folder (one per distinct model file and inspector; ~0.4 KB each). */
export const MAX_ENTRIES = 256;

const PREFIX = "model-info-";

let inspectorHash: string | null | undefined;

/** SHA-256 of the inspector's source and the lockfile (null when unreadable: no caching). */
function inspector(): string | null {
  if (inspectorHash !== undefined) return inspectorHash;
  try {
    const hash = createHash("sha256");
    for (const file of INSPECTOR_FILES) {
      hash.update(Deno.readFileSync(new URL(`./${file}`, import.meta.url)));
    }
    hash.update(Deno.readFileSync(new URL("../../deno.lock", import.meta.url)));
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
  return join(folder, `${PREFIX}${key.slice(0, 40)}.json`);
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
  if (path && folder && await writeCacheFile(path, JSON.stringify(info))) {
    await pruneEntries(folder);
  }
  return info;
}

/**
 * Keeps the newest `keep` entries (by modification time) and removes leftover temporary
 * files of this cache; the folder's other files are left alone.
 */
export async function pruneEntries(folder: string, keep = MAX_ENTRIES): Promise<void> {
  try {
    const entries: { path: string; mtime: number }[] = [];
    for await (const e of Deno.readDir(folder)) {
      if (!e.isFile || !e.name.startsWith(PREFIX)) continue;
      const path = join(folder, e.name);
      if (e.name.endsWith(".tmp")) {
        const age = Date.now() - ((await Deno.stat(path)).mtime?.getTime() ?? 0);
        if (age > 60_000) await Deno.remove(path).catch(() => {});
      } else if (e.name.endsWith(".json")) {
        entries.push({ path, mtime: (await Deno.stat(path)).mtime?.getTime() ?? 0 });
      }
    }
    entries.sort((a, b) => b.mtime - a.mtime);
    for (const e of entries.slice(keep)) await Deno.remove(e.path).catch(() => {});
  } catch { /* an unreadable folder: nothing to prune */ }
}

/** The cache folder the environment names (null when it names none or cannot be read). */
function environmentFolder(): string | null {
  try {
    return cacheFolder(Deno.env.toObject());
  } catch {
    return null; // no --allow-env
  }
}
