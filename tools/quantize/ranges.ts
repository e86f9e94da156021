/**
 * Calibration methods: turn a tensor's statistics into the [min, max] range it is
 * quantised over.
 *
 * - `minmax`: the full observed range (nothing clipped).
 * - `percentile`: drops the (100 − p)/2 % most extreme values on each side (histogram).
 * - `entropy`: the clipping threshold T on |x| that minimises the KL divergence between
 *   the value distribution and its 128-level quantised version (the TensorRT method,
 *   Migacz 2017), applied as [max(min, −T), min(max, T)].
 *
 * @module
 */
import type { TensorStats } from "./statistics.ts";

/** A calibration method name. */
export type CalibrationMethod = "minmax" | "percentile" | "entropy";

/** Method names, for argument checking. */
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = [
  "minmax",
  "percentile",
  "entropy",
];

/** Which histogram a method needs in pass 2 (none for minmax). */
export function histogramKind(method: CalibrationMethod): "signed" | "absolute" | null {
  return method === "percentile" ? "signed" : method === "entropy" ? "absolute" : null;
}

/**
 * The range of values kept by a percentile: cuts `(100 − p) / 2` % of the values from
 * each end of the histogram (bin edges, rounded outwards).
 */
export function percentileRange(stats: TensorStats, p: number): [number, number] {
  const h = stats.histogram;
  if (!h) throw new Error("percentile range needs the signed histogram");
  const total = h.reduce((a, b) => a + b, 0);
  if (total === 0 || stats.max <= stats.min) return [stats.min, stats.max];
  const cut = ((100 - p) / 200) * total;
  const width = (stats.max - stats.min) / h.length;
  let acc = 0, lo = 0;
  while (lo < h.length - 1 && acc + h[lo] <= cut) acc += h[lo++];
  acc = 0;
  let hi = h.length - 1;
  while (hi > lo && acc + h[hi] <= cut) acc += h[hi--];
  return [stats.min + lo * width, stats.min + (hi + 1) * width];
}

/** KL(P ‖ Q) of two unnormalised histograms over the bins where P is non-zero. */
function divergence(p: Float64Array, q: Float64Array, n: number): number {
  let sp = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    sp += p[i];
    sq += q[i];
  }
  if (sp === 0 || sq === 0) return Infinity;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    if (p[i] === 0) continue;
    const pi = p[i] / sp;
    const qi = Math.max(q[i] / sq, 1e-12);
    kl += pi * Math.log(pi / qi);
  }
  return kl;
}

/**
 * The entropy threshold, in bins: the count `i` of leading |x| bins to keep.
 * @param hist histogram of |x|
 * @param levels quantised levels of the candidate distribution (128 for 8 bits signed)
 */
export function entropyThresholdBins(hist: Float64Array, levels = 128): number {
  const n = hist.length;
  if (n <= levels) return n;
  const p = new Float64Array(n), q = new Float64Array(n);
  let tail = hist.reduce((a, b) => a + b, 0);
  for (let i = 0; i < levels; i++) tail -= hist[i];
  let best = n, bestKl = Infinity;
  for (let i = levels; i <= n; i++) {
    // P: the first i bins, with every value beyond them counted in the last one
    for (let k = 0; k < i; k++) p[k] = hist[k];
    p[i - 1] += tail;
    if (i < n) tail -= hist[i];
    // Q: the first i bins merged into `levels` groups, spread back over their non-empty bins
    const group = i / levels;
    for (let j = 0; j < levels; j++) {
      const start = Math.floor(j * group), end = j === levels - 1 ? i : Math.floor((j + 1) * group);
      let sum = 0, nonEmpty = 0;
      for (let k = start; k < end; k++) {
        sum += hist[k];
        if (hist[k] > 0) nonEmpty++;
      }
      for (let k = start; k < end; k++) q[k] = hist[k] > 0 ? sum / nonEmpty : 0;
    }
    const kl = divergence(p, q, i);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best;
}

/**
 * The quantisation range of one tensor under a method.
 * @param percentile for `percentile`: the share of values kept, e.g. 99.999
 */
export function calibrationRange(
  stats: TensorStats,
  method: CalibrationMethod,
  percentile = 99.999,
): [number, number] {
  if (stats.count === 0) throw new Error("no values were observed");
  if (method === "minmax") return [stats.min, stats.max];
  if (method === "percentile") return percentileRange(stats, percentile);
  const h = stats.absHistogram;
  if (!h) throw new Error("entropy range needs the |x| histogram");
  const t = (entropyThresholdBins(h) * stats.absMax) / h.length;
  return [Math.max(stats.min, -t), Math.min(stats.max, t)];
}
