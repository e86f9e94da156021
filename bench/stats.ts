/**
 * Timing statistics shared by every benchmark part: a run loop that excludes warm-up runs
 * and stops on a run count or a time budget, and the summary (n, median, p90, …) of its
 * samples.
 *
 * Percentiles (the median too) interpolate linearly between order statistics: d3-array's
 * `quantile`, the R-7 definition that NumPy uses by default and lib/metrics/hd95.ts too. The
 * report's Method section says so.
 *
 * @module
 */
// @ts-types="npm:@types/d3-array@3.2.2"
import { quantile } from "d3-array";

/** Summary of a set of millisecond samples. */
export interface Summary {
  n: number;
  median_ms: number;
  p90_ms: number;
  min_ms: number;
  max_ms: number;
  mean_ms: number;
}

/** The `p`-th percentile of `values` (p in 0..100), interpolated; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  return quantile(values, p / 100) ?? NaN;
}

/** Median (the mean of the two middle values for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Rounds to `digits` decimals (for reports). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Summarises millisecond samples. */
export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  return {
    n,
    median_ms: round(median(samples), 3),
    p90_ms: round(percentile(samples, 90), 3),
    min_ms: round(n ? Math.min(...samples) : NaN, 3),
    max_ms: round(n ? Math.max(...samples) : NaN, 3),
    mean_ms: round(n ? samples.reduce((a, b) => a + b, 0) / n : NaN, 3),
  };
}

/** How many runs to time: warm-ups first (excluded), then until a count or a time budget. */
export interface RunPlan {
  /** runs made first and excluded from the statistics */
  warmup: number;
  /** always time at least this many runs */
  minRuns: number;
  /** never time more than this many */
  maxRuns: number;
  /** stop once this many ms of timed runs have passed (and minRuns are done) */
  budgetMs: number;
}

/** What {@link timeRuns} measured. */
export interface Timed {
  summary: Summary;
  samples_ms: number[];
  warmup_ms: number[];
  /** why the loop stopped: it reached maxRuns, or the time budget ran out */
  stopped_by: "runs" | "time";
}

/**
 * Times `fn`: `plan.warmup` untimed runs, then timed runs until `maxRuns`, or until the
 * budget is spent once `minRuns` are done.
 */
export async function timeRuns(fn: () => Promise<unknown>, plan: RunPlan): Promise<Timed> {
  const warmup: number[] = [];
  for (let i = 0; i < plan.warmup; i++) {
    const t0 = performance.now();
    await fn();
    warmup.push(round(performance.now() - t0, 3));
  }
  const samples: number[] = [];
  const start = performance.now();
  let stoppedBy: Timed["stopped_by"] = "runs";
  while (samples.length < plan.maxRuns) {
    if (samples.length >= plan.minRuns && performance.now() - start >= plan.budgetMs) {
      stoppedBy = "time";
      break;
    }
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return {
    summary: summarize(samples),
    samples_ms: samples.map((s) => round(s, 3)),
    warmup_ms: warmup,
    stopped_by: stoppedBy,
  };
}
