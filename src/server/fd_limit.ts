/**
 * The process's open-files limit (soft, `/proc/self/limits`, Linux), read where it is needed:
 * the connection front sizes its connection cap from it, `/metrics` reports it.
 *
 * @module
 */

/** The soft limit of open file descriptors, or null where /proc is not readable. */
export function openFilesLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/self/limits"));
    const max = Number(m?.[1]);
    return m && Number.isFinite(max) ? max : null;
  } catch {
    return null; // not Linux
  }
}
