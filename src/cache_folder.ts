/**
 * The folder for results worth keeping between starts (the native engine probe's verdict,
 * what each ONNX file's graph says): `TINYUNET_NATIVE_PROBE_CACHE` (`off` for none), else
 * systemd's `$CACHE_DIRECTORY`, else `$XDG_CACHE_HOME/tinyunet-edge`, else
 * `~/.cache/tinyunet-edge`. Nothing is lost without it: each start then works it out again.
 *
 * @module
 */
import { dirname, join } from "node:path";

/** The cache folder named by an environment map, or null for none. */
export function cacheFolder(env: Record<string, string | undefined>): string | null {
  const explicit = env.TINYUNET_NATIVE_PROBE_CACHE?.trim();
  if (explicit) return explicit === "off" ? null : explicit;
  const systemd = env.CACHE_DIRECTORY?.split(":")[0];
  if (systemd) return systemd;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "tinyunet-edge");
  if (env.HOME) return join(env.HOME, ".cache", "tinyunet-edge");
  return null;
}

/**
 * Writes a cache file whole or not at all (a uniquely named temporary file renamed over it,
 * so readers never see half an entry and writers never share a temporary file).
 * @returns whether it was written (a read-only or missing folder only costs the saving)
 */
export async function writeCacheFile(path: string, text: string): Promise<boolean> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
    return true;
  } catch {
    await Deno.remove(tmp).catch(() => {});
    return false;
  }
}
