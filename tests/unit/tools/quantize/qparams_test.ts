import assert from "node:assert/strict";
import { seededRandom } from "../../../../lib/onnx_builder.ts";
import {
  activationParams,
  dequantizeValue,
  quantizeValue,
} from "../../../../tools/quantize/qparams.ts";
import { roundHalfEven } from "../../../../src/onnx/quantize_linear.ts";
import {
  quantizeBias,
  quantizeWeight,
  sliceIndexer,
} from "../../../../tools/quantize/quantize_weights.ts";

function randomWeights(
  n: number,
  seed: number,
  spread: (i: number) => number = () => 1,
): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, (_, i) => (r() * 2 - 1) * spread(i));
}

Deno.test("round half to even, like ONNX QuantizeLinear", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven), [
    0,
    2,
    2,
    -0,
    -2,
    -2,
    2,
    -3,
  ]);
});

Deno.test("activation params cover the range, include zero exactly, and saturate outside", () => {
  for (const type of ["uint8", "int8"] as const) {
    for (const [lo, hi] of [[-1.3, 4.2], [0, 6], [0.5, 3], [-5, -1]]) {
      const p = activationParams(lo, hi, type);
      const [qmin, qmax] = type === "uint8" ? [0, 255] : [-128, 127];
      assert.ok(p.zeroPoint >= qmin && p.zeroPoint <= qmax);
      assert.equal(
        dequantizeValue(quantizeValue(0, p, qmin, qmax), p),
        0,
        `zero exact for [${lo}, ${hi}] ${type}`,
      );
      for (const x of [lo, hi, (lo + hi) / 2]) {
        const back = dequantizeValue(quantizeValue(x, p, qmin, qmax), p);
        assert.ok(Math.abs(back - x) <= p.scale / 2 + 1e-6, `${x} → ${back} (scale ${p.scale})`);
      }
      assert.equal(quantizeValue(hi + 100, p, qmin, qmax), qmax);
    }
  }
  // a range starting at 0 (a ReLU output) puts the zero point at the bottom: the clamp is the ReLU
  assert.equal(activationParams(0, 6, "uint8").zeroPoint, 0);
  assert.equal(activationParams(0, 6, "int8").zeroPoint, -128);
  assert.deepEqual(activationParams(0, 0, "uint8"), { scale: 1, zeroPoint: 0 });
  assert.throws(() => activationParams(0, Infinity, "uint8"), RangeError);
});

Deno.test("per-channel weights: quantise → dequantise within half a step of each channel's scale", () => {
  // Conv weight [Cout=4, Cin=3, 3, 3], channels of very different magnitude
  const dims = [4, 3, 3, 3];
  const channel = sliceIndexer(dims, 0);
  const w = randomWeights(108, 5, (i) => 10 ** (channel(i) - 2));
  const q = quantizeWeight(w, dims, 0);
  assert.equal(q.scales.length, 4);
  for (let i = 0; i < w.length; i++) {
    const s = q.scales[channel(i)];
    assert.ok(Math.abs(q.values[i] * s - w[i]) <= s / 2 + 1e-9, `element ${i}`);
    assert.ok(Math.abs(q.values[i]) <= 127);
  }
  // the largest magnitude of each channel maps to ±127
  for (let c = 0; c < 4; c++) {
    const maxQ = Math.max(...q.values.filter((_, i) => channel(i) === c).map(Math.abs));
    assert.equal(maxQ, 127);
  }
});

Deno.test("ConvTranspose weights [Cin, Cout, kH, kW] are scaled along axis 1", () => {
  const dims = [3, 2, 2, 2];
  const out = sliceIndexer(dims, 1);
  // output channel 1 is 100× larger than channel 0
  const w = randomWeights(24, 9, (i) => (out(i) === 1 ? 100 : 1));
  const q = quantizeWeight(w, dims, 1);
  assert.equal(q.scales.length, 2);
  assert.ok(q.scales[1] > 50 * q.scales[0]);
  for (let i = 0; i < w.length; i++) {
    assert.ok(Math.abs(q.values[i] * q.scales[out(i)] - w[i]) <= q.scales[out(i)] / 2 + 1e-9);
  }
});

Deno.test("per-tensor and reduced-range weights stay within one step", () => {
  const w = randomWeights(50, 3);
  for (const reduce of [false, true]) {
    const q = quantizeWeight(w, [50], null, reduce);
    assert.equal(q.scales.length, 1);
    const limit = reduce ? 63 : 127;
    for (let i = 0; i < w.length; i++) {
      assert.ok(Math.abs(q.values[i]) <= limit);
      assert.ok(Math.abs(q.values[i] * q.scales[0] - w[i]) <= q.scales[0] / 2 + 1e-9);
    }
  }
  assert.deepEqual([...quantizeWeight(new Float32Array(4), [4], null).values], [0, 0, 0, 0]);
  assert.throws(() => quantizeWeight(Float32Array.of(1, NaN), [2], null), RangeError);
});

Deno.test("int32 bias uses input scale × weight scale, and refuses overflow", () => {
  const b = quantizeBias(Float32Array.of(0.5, -0.25), 0.01, Float32Array.of(0.1, 0.05))!;
  assert.deepEqual([...b.values], [
    Math.round(0.5 / (0.01 * 0.1)),
    Math.round(-0.25 / (0.01 * 0.05)),
  ]);
  assert.equal(quantizeBias(Float32Array.of(1e6), 1e-6, Float32Array.of(1e-6)), null);
});
