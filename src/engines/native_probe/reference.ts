/**
 * The native probe's known answer: a tiny two-layer network (3×3 convolution 2→4 with
 * bias, ReLU, 1×1 convolution 4→1 with bias, sigmoid) on a fixed 2×8×8 input, with
 * weights from a closed formula, and its output computed here in plain JavaScript
 * (float64), independently of any ONNX runtime. The ONNX encoding of the same network is
 * in `model.ts` (checked against these weights by tests/unit/engines/native_probe_test.ts).
 *
 * @module
 */

/** Input shape [N, C, H, W]. */
export const PROBE_INPUT_DIMS: readonly number[] = [1, 2, 8, 8];
/** Output shape. */
export const PROBE_OUTPUT_DIMS: readonly number[] = [1, 1, 8, 8];
/** Names of the graph's input and output. */
export const PROBE_INPUT_NAME = "x";
export const PROBE_OUTPUT_NAME = "y";
/** Largest |native − reference| accepted (float32 arithmetic against float64). */
export const PROBE_TOLERANCE = 1e-4;

const HIDDEN = 4;

/** A value in [-1, 1) from an index and a salt (no randomness: the same on every host). */
function formula(i: number, salt: number): number {
  return (((i * 37 + salt * 11) % 29) - 14) / 14;
}

/** The network's parameters, as float32 values (what the ONNX file stores). */
export function probeWeights() {
  const f32 = (n: number, salt: number, scale: number) =>
    Float32Array.from({ length: n }, (_, i) => formula(i, salt) * scale);
  return {
    /** [4, 2, 3, 3] */
    w1: f32(HIDDEN * 2 * 9, 1, 0.5),
    /** [4] */
    b1: f32(HIDDEN, 2, 0.25),
    /** [1, 4, 1, 1] */
    w2: f32(HIDDEN, 3, 1),
    /** [1] */
    b2: f32(1, 4, 0.5),
  };
}

/** The fixed input. */
export function probeInput(): Float32Array {
  const n = PROBE_INPUT_DIMS.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => formula(i, 5));
}

/** The expected output, computed in float64. */
export function probeReference(): Float64Array {
  const [, cin, h, w] = PROBE_INPUT_DIMS;
  const x = probeInput();
  const { w1, b1, w2, b2 } = probeWeights();
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      let z = b2[0];
      for (let o = 0; o < HIDDEN; o++) {
        let acc = b1[o];
        for (let c = 0; c < cin; c++) {
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              const sy = y + ky - 1, sx = xx + kx - 1;
              if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
              acc += w1[((o * cin + c) * 3 + ky) * 3 + kx] * x[(c * h + sy) * w + sx];
            }
          }
        }
        z += w2[o] * Math.max(0, acc);
      }
      out[y * w + xx] = 1 / (1 + Math.exp(-z));
    }
  }
  return out;
}

/** Largest absolute difference between an output and the reference (Infinity on a shape mismatch). */
export function probeError(output: ArrayLike<number>): number {
  const ref = probeReference();
  if (output.length !== ref.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(output[i] - ref[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}
