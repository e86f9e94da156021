/**
 * A cheap look at the model repository for hot reload: which version folders hold a
 * `model.json`, and a fingerprint of each folder's files (names, sizes, modification
 * times) so a rescan can tell what changed without reading any model.
 *
 * @module
 */
import { join } from "node:path";

/** A version folder on disk and the fingerprint of its files. */
export interface VersionDir {
  name: string;
  version: string;
  dir: string;
  fingerprint: string;
}

/** Folder names a model or version may have (the card's rule); others are ignored. */
export const SAFE_NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/**
 * Fingerprints a folder: every file (two levels deep) with its size and mtime.
 * Hidden files (`.tmp` uploads) are left out.
 */
export async function fingerprint(dir: string, depth = 2): Promise<string> {
  const parts: string[] = [];
  const walk = async (path: string, rel: string, level: number) => {
    for await (const e of Deno.readDir(path)) {
      if (e.name.startsWith(".")) continue;
      const full = join(path, e.name);
      const name = rel ? `${rel}/${e.name}` : e.name;
      const info = await Deno.stat(full).catch(() => null);
      if (!info) continue;
      if (info.isDirectory) {
        if (level < depth) await walk(full, name, level + 1);
      } else {
        parts.push(`${name}:${info.size}:${info.mtime?.getTime() ?? 0}`);
      }
    }
  };
  await walk(dir, "", 1);
  return parts.sort().join("|");
}

async function subdirs(path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(path)) {
    if (e.name.startsWith(".") || !SAFE_NAME.test(e.name)) continue;
    const info = await Deno.stat(join(path, e.name)).catch(() => null); // follows symlinks
    if (info?.isDirectory) names.push(e.name);
  }
  return names.sort();
}

/**
 * Lists the version folders (those with a `model.json`) of every model, or of one.
 * @param only a model name: list just its versions ([] when it has no folder)
 * @throws {Error} when the repository root itself cannot be read (a rescan must then
 *   change nothing, rather than unload every model)
 */
export async function listVersionDirs(root: string, only?: string): Promise<VersionDir[]> {
  const models = only === undefined ? await subdirs(root) : [only];
  const out: VersionDir[] = [];
  for (const name of models) {
    let versions: string[];
    try {
      versions = await subdirs(join(root, name));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) continue;
      throw err;
    }
    for (const version of versions) {
      const dir = join(root, name, version);
      const card = await Deno.stat(join(dir, "model.json")).catch(() => null);
      if (!card?.isFile) continue;
      out.push({ name, version, dir, fingerprint: await fingerprint(dir) });
    }
  }
  return out;
}
