/**
 * Where a shipped model lives: `models/<name>/<version>/`, with exactly one numbered version
 * per model in the repository. Tests and benchmarks look the version up here instead of
 * pinning it, so shipping a new version does not break them.
 *
 * @module
 */

/** The repository's `models/` folder. */
export const MODELS_ROOT = new URL("../models/", import.meta.url);

/** The one shipped version of `name` (throws unless exactly one numbered folder exists). */
export function shippedVersion(name: string, root: URL = MODELS_ROOT): string {
  const versions = [...Deno.readDirSync(new URL(`${name}/`, root))]
    .filter((e) => e.isDirectory && /^\d+$/.test(e.name))
    .map((e) => e.name);
  if (versions.length !== 1) {
    throw new Error(`models/${name}: expected one shipped version, found [${versions.join(", ")}]`);
  }
  return versions[0];
}

/** The folder of `name`'s shipped version, as a URL ending in `/`. */
export function shippedModelUrl(name: string, root: URL = MODELS_ROOT): URL {
  return new URL(`${name}/${shippedVersion(name, root)}/`, root);
}
