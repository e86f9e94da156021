/**
 * Resident memory of a process from /proc/<pid>/status (Linux): VmRSS (now) and VmHWM
 * (peak since start), in MiB (2²⁰ bytes, as `ps` and `top` count).
 *
 * @module
 */

/** Memory of one process, MiB; null where /proc is not readable. */
export interface ProcMemory {
  rss_mib: number | null;
  hwm_mib: number | null;
}

/** Reads VmRSS and VmHWM of `pid`. */
export function procMemory(pid: number): ProcMemory {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) => {
      const m = text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
      return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
    };
    return { rss_mib: kb("VmRSS"), hwm_mib: kb("VmHWM") };
  } catch {
    return { rss_mib: null, hwm_mib: null };
  }
}
