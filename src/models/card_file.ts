/**
 * Safe edits of files in a model version folder: atomic writes (a temporary file in the
 * same folder, then a rename, so a reader or a crash never sees half a file) and
 * read-modify-write of `model.json` that validates the result before replacing it.
 * Used by `tools/quantize` and `tools/evaluate`.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { parseCard } from "./card.ts";

/**
 * Writes `data` to `path` atomically.
 * @throws {Error} when the folder is not writable (the target is left as it was)
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * The object under `key` in a raw card (created, or replacing a non-object, when needed),
 * for edits inside {@link updateCard}.
 */
export function childObject(card: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = card[key];
  const child = v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : {};
  card[key] = child;
  return child;
}

/**
 * Reads `model.json` as written (no defaults filled in), applies `edit`, checks the result
 * is still a valid card, and replaces the file atomically.
 * @param dir the version folder
 * @param edit changes the parsed JSON in place
 * @returns the edited JSON
 * @throws {CardError} when the edited card is invalid (the file is left as it was)
 */
export async function updateCard(
  dir: string,
  edit: (card: Record<string, unknown>) => void,
): Promise<Record<string, unknown>> {
  const file = join(dir, "model.json");
  const raw = JSON.parse(await Deno.readTextFile(file)) as Record<string, unknown>;
  edit(raw);
  parseCard(structuredClone(raw), file);
  await writeFileAtomic(file, JSON.stringify(raw, null, 2) + "\n");
  return raw;
}
