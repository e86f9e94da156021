/**
 * Resident memory of a process from /proc/<pid>/status (Linux): VmRSS (now) and VmHWM
 * (peak since start), in MiB (2²⁰ bytes, as `ps` and `top` count); and the fields of
 * /proc/<pid>/stat (CPU time, page faults) for the parts that count those.
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

/**
 * `/proc/<pid>/stat` (or one thread's, `/proc/<pid>/task/<tid>/stat`): the command name, which
 * may itself hold ")", and the fields after it (`fields[7]` minflt, `[11]` utime, `[12]` stime,
 * counted from 0), or null where it cannot be read.
 */
export function procStat(pid: number, tid?: string): { name: string; fields: string[] } | null {
  try {
    const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
    const stat = Deno.readTextFileSync(path);
    const end = stat.lastIndexOf(")");
    return { name: stat.slice(stat.indexOf("(") + 1, end), fields: stat.slice(end + 2).split(" ") };
  } catch {
    return null;
  }
}

/** utime + stime of /proc stat fields, in seconds (USER_HZ = 100 on Linux). */
export function cpuOf(fields: string[]): number {
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds (utime + stime, all threads) of a process so far, or null without /proc. */
export function cpuSeconds(pid: number): number | null {
  const stat = procStat(pid);
  return stat ? cpuOf(stat.fields) : null;
}
