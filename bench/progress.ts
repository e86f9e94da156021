/**
 * Progress lines while the benchmark runs (stderr, so stdout stays free for results), each
 * stamped with the seconds since start and the 1-minute load average.
 *
 * @module
 */
import os from "node:os";

const started = performance.now();
let quiet = false;

/** Silences progress output (tests). */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** Prints one progress line. */
export function progress(message: string): void {
  if (quiet) return;
  const t = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  const load = os.loadavg()[0].toFixed(2);
  console.error(`[bench ${t}s load ${load}] ${message}`);
}
