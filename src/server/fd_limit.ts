/**
 * The process's open-files limit (soft), read where it is needed (it can change while the
 * server runs): the connection front sizes its connection cap from it, `/metrics` reports it.
 * Read with glibc's `getrlimit` through FFI (`libc.ts`)
 * (`--allow-ffi`, as the deployed command has), else from /proc/self/limits — which Deno lets
 * only `--allow-all` read, so the deployed command's scoped permissions had left the front
 * without its cap. Why by hand: Deno has no rlimit API.
 *
 * @module
 */

import { libc } from "../libc.ts";

/** `RLIMIT_NOFILE` on Linux. */
const RLIMIT_NOFILE = 7;

/** The soft limit of open file descriptors, or null where neither way can read it. */
export function openFilesLimit(): number | null {
  return viaGetrlimit() ?? viaProc();
}

function viaGetrlimit(): number | null {
  const { lib } = libc();
  if (!lib) return null;
  const limits = new BigUint64Array(2); // struct rlimit { rlim_cur; rlim_max }
  if (lib.symbols.getrlimit(RLIMIT_NOFILE, new Uint8Array(limits.buffer)) !== 0) return null;
  const soft = Number(limits[0]);
  // RLIM_INFINITY (all ones) reads as no limit to size from
  return soft > 0 && soft < 2 ** 53 ? soft : null;
}

function viaProc(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/self/limits"));
    const max = Number(m?.[1]);
    return m && Number.isFinite(max) ? max : null;
  } catch {
    return null; // not Linux, or not --allow-all
  }
}
