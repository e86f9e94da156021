/**
 * The process's open-files limit (soft), read where it is needed (it can change while the
 * server runs): the connection front sizes its connection cap from it, `/metrics` reports it.
 * Read with glibc's `getrlimit` through FFI
 * (`--allow-ffi`, as the deployed command has), else from /proc/self/limits — which Deno lets
 * only `--allow-all` read, so the deployed command's scoped permissions had left the front
 * without its cap. Why by hand: Deno has no rlimit API.
 *
 * @module
 */

/** `RLIMIT_NOFILE` on Linux. */
const RLIMIT_NOFILE = 7;

/** The soft limit of open file descriptors, or null where neither way can read it. */
export function openFilesLimit(): number | null {
  return viaGetrlimit() ?? viaProc();
}

let libc:
  | Deno.DynamicLibrary<{ getrlimit: { parameters: ["i32", "buffer"]; result: "i32" } }>
  | null
  | undefined;

/** glibc's `getrlimit`, opened once; null without glibc or FFI permission (never a prompt). */
function getrlimit() {
  if (libc !== undefined) return libc;
  libc = null;
  if (Deno.build.os !== "linux") return libc;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return libc;
    libc = Deno.dlopen("libc.so.6", {
      getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    });
  } catch { /* no glibc */ }
  return libc;
}

function viaGetrlimit(): number | null {
  const lib = getrlimit();
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
