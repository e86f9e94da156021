/**
 * Activation statistics gathered during calibration: running min/max (first pass), then,
 * for the percentile and entropy methods, fixed-range histograms (second pass, over the
 * range the first pass found).
 *
 * @module
 */

/** Histogram bins used by the percentile and entropy methods. */
export const HISTOGRAM_BINS = 2048;

/** What calibration knows about one tensor. */
export class TensorStats {
  min = Infinity;
  max = -Infinity;
  /** values seen (pass 1) */
  count = 0;
  /** histogram of values over [min, max] (percentile) */
  histogram?: Float64Array;
  /** histogram of |values| over [0, max(|min|, |max|)] (entropy) */
  absHistogram?: Float64Array;

  /** Pass 1: widens the range to cover `data`. */
  observeRange(data: Float32Array): void {
    let lo = this.min, hi = this.max;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (Number.isNaN(lo) || Number.isNaN(hi)) throw new Error("tensor holds NaN");
    this.min = lo;
    this.max = hi;
    this.count += data.length;
  }

  /** Largest magnitude seen. */
  get absMax(): number {
    return Math.max(Math.abs(this.min), Math.abs(this.max));
  }

  /** Pass 2: counts `data` into the histogram(s) started by {@link startHistograms}. */
  observeHistogram(data: Float32Array): void {
    const n = HISTOGRAM_BINS;
    if (this.histogram) {
      const width = (this.max - this.min) / n;
      const h = this.histogram;
      for (let i = 0; i < data.length; i++) {
        const b = width > 0 ? Math.floor((data[i] - this.min) / width) : 0;
        h[b < 0 ? 0 : b >= n ? n - 1 : b]++;
      }
    }
    if (this.absHistogram) {
      const width = this.absMax / n;
      const h = this.absHistogram;
      for (let i = 0; i < data.length; i++) {
        const b = width > 0 ? Math.floor(Math.abs(data[i]) / width) : 0;
        h[b >= n ? n - 1 : b]++;
      }
    }
  }

  /** Allocates the histogram(s) a method needs, over the pass-1 range. */
  startHistograms(kind: "signed" | "absolute"): void {
    if (kind === "signed") this.histogram = new Float64Array(HISTOGRAM_BINS);
    else this.absHistogram = new Float64Array(HISTOGRAM_BINS);
  }
}
