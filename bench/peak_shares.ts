/**
 * An engine's conv peak and the student's share of it, from one run's peak part (the
 * student timed there as the kernels are: N runs at once on a lane engine at N threads;
 * older results without that row fall back to the latency part's one-run timing).
 *
 * @module
 */
import { CONV_KINDS } from "./peak.ts";
import type { BenchResults } from "./results.ts";

/** The better of the configuration's conv rows, GFLOP/s (null when none ran). */
export function convPeak(r: BenchResults, config: string): number | null {
  const rates = (r.peak?.kernels ?? [])
    .filter((k) => k.config === config && CONV_KINDS.includes(k.kernel) && k.gflops_per_s)
    .map((k) => k.gflops_per_s!);
  return rates.length ? Math.max(...rates) : null;
}

/** The student's GFLOP/s on a configuration at `size`, and how it was timed. */
export function studentRate(
  r: BenchResults,
  config: string,
  size: number,
): { gflops: number; inFlight: number } | null {
  const row = r.peak?.kernels.find((k) =>
    k.config === config && k.kernel === "student" && k.gflops_per_s
  );
  if (row && size === r.peak?.student_size) {
    return { gflops: row.gflops_per_s!, inFlight: row.in_flight ?? 1 };
  }
  const lat = r.latency?.rows.find((x) =>
    x.config === config && x.size === size && x.net === "student"
  );
  return lat?.gflops_per_s ? { gflops: lat.gflops_per_s, inFlight: 1 } : null;
}

/** The student's share of the configuration's conv peak, in % (null when not measured). */
export function studentShareOfConvPeak(
  r: BenchResults,
  config: string,
  size: number,
): number | null {
  const peak = convPeak(r, config);
  const rate = studentRate(r, config, size);
  return peak && rate ? (100 * rate.gflops) / peak : null;
}
