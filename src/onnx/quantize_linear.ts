/**
 * ONNX `QuantizeLinear` arithmetic shared by the tfjs-wasm engine (which runs QDQ models)
 * and the quantiser (which writes them): rounding half to even, as onnxruntime's `nearbyint`.
 *
 * @module
 */

/** Rounds half to even (2.5 → 2, 3.5 → 4, −2.5 → −2). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
