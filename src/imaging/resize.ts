/**
 * Bilinear resampling with antialiasing (a triangle filter widened by the scale factor
 * when shrinking), the same filter as PIL's `Image.resize(…, BILINEAR)` and PyTorch's
 * `interpolate(mode="bilinear", antialias=True, align_corners=False)`, so the training
 * pipeline and the server resize alike.
 *
 * @module
 */

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  width: number;
}

function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // triangle filter support 1, widened when shrinking
  const width = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * width);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support + 0.5));
    const hi = Math.min(inSize, Math.floor(center + support + 0.5));
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - center) / filterScale));
      weights[i * width + (j - lo)] = w;
      total += w;
    }
    if (total > 0) { for (let j = 0; j < hi - lo; j++) weights[i * width + j] /= total; }
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { start, count, weights, width };
}

/**
 * Resizes one planar float channel.
 * @param src `inW × inH` values, row-major
 * @returns `outW × outH` values
 */
export function resizePlane(
  src: Float32Array,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
): Float32Array {
  if (inW === outW && inH === outH) return src.slice();
  return resizeSamples(src, 1, 0, 1, inW, inH, outW, outH);
}

/**
 * Resizes a plane and thresholds it in the same pass (`1` where the value > `threshold`),
 * so a mask at a 16 Mpx image's size costs 16 MB, not a 64 MB float plane first.
 */
export function resizeThreshold(
  src: Float32Array,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
  threshold: number,
): Uint8Array {
  const mask = new Uint8Array(outW * outH);
  const tx = taps(inW, outW);
  const ty = taps(inH, outH);
  const tmp = new Float32Array(outW * inH);
  for (let y = 0; y < inH; y++) {
    const row = y * inW;
    for (let x = 0; x < outW; x++) {
      let acc = 0;
      const s = tx.start[x], c = tx.count[x], o = x * tx.width;
      for (let k = 0; k < c; k++) acc += src[row + s + k] * tx.weights[o + k];
      tmp[y * outW + x] = acc;
    }
  }
  for (let y = 0; y < outH; y++) {
    const s = ty.start[y], c = ty.count[y], o = y * ty.width;
    for (let x = 0; x < outW; x++) {
      let acc = 0;
      for (let k = 0; k < c; k++) acc += tmp[(s + k) * outW + x] * ty.weights[o + k];
      mask[y * outW + x] = Math.fround(acc) > threshold ? 1 : 0;
    }
  }
  return mask;
}

/**
 * Resizes one channel read straight from interleaved samples (`data[i * stride + offset]
 * * scale`, rounded to float32 as a plane would hold it), so a large image is never
 * copied into full-size float planes first.
 */
export function resizeSamples(
  data: ArrayLike<number>,
  stride: number,
  offset: number,
  scale: number,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
): Float32Array {
  const f = Math.fround;
  if (inW === outW && inH === outH) {
    const out = new Float32Array(inW * inH);
    for (let i = 0; i < out.length; i++) out[i] = f(data[i * stride + offset] * scale);
    return out;
  }
  const tx = taps(inW, outW);
  const ty = taps(inH, outH);
  // Horizontal pass: inH rows of outW.
  const tmp = new Float32Array(outW * inH);
  for (let y = 0; y < inH; y++) {
    const row = y * inW;
    for (let x = 0; x < outW; x++) {
      let acc = 0;
      const s = tx.start[x], c = tx.count[x], o = x * tx.width;
      for (let k = 0; k < c; k++) {
        acc += f(data[(row + s + k) * stride + offset] * scale) * tx.weights[o + k];
      }
      tmp[y * outW + x] = acc;
    }
  }
  // Vertical pass.
  const out = new Float32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const s = ty.start[y], c = ty.count[y], o = y * ty.width;
    for (let x = 0; x < outW; x++) {
      let acc = 0;
      for (let k = 0; k < c; k++) acc += tmp[(s + k) * outW + x] * ty.weights[o + k];
      out[y * outW + x] = acc;
    }
  }
  return out;
}
