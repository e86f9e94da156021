/**
 * The folder for results worth keeping between starts (the native engine probe's verdict,
 * what each ONNX file's graph says): `TINYUNET_NATIVE_PROBE_CACHE` (`off` for none), else
 * systemd's `$CACHE_DIRECTORY`, else `$XDG_CACHE_HOME/tinyunet-edge`, else
 * `~/.cache/tinyunet-edge`. Nothing is lost without it: each start then works it out again.
 *
 * @module
 */
import { join } from "node:path";

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
