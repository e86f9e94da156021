/**
 * Load-time arithmetic on constants (numpy broadcasting), so chains such as
 * int8 initializer → DequantizeLinear → Conv weight become one float weight.
 *
 * @module
 */
import type { ConstTensor } from "../../onnx/tensor_data.ts";

/** The broadcast shape of two shapes (numpy rules), or null when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

function strides(dims: readonly number[], rank: number): number[] {
  const padded = [...Array(rank - dims.length).fill(1), ...dims];
  const s = new Array(rank).fill(0);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    s[i] = padded[i] === 1 ? 0 : acc;
    acc *= padded[i];
  }
  return s;
}

/**
 * Applies `fn` elementwise over broadcast constants; results are rounded to float32.
 * @throws {Error} when the shapes do not broadcast
 */
export function foldElementwise(
  inputs: readonly ConstTensor[],
  fn: (...values: number[]) => number,
): ConstTensor {
  let dims: number[] = [];
  for (const t of inputs) {
    const b = broadcastShape(dims, t.dims);
    if (!b) throw new Error(`shapes [${dims}] and [${t.dims}] do not broadcast`);
    dims = b;
  }
  const rank = dims.length;
  const st = inputs.map((t) => strides(t.dims, rank));
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  const index = new Array(rank).fill(0);
  const args = new Array(inputs.length).fill(0);
  for (let n = 0; n < count; n++) {
    for (let k = 0; k < inputs.length; k++) {
      let off = 0;
      for (let i = 0; i < rank; i++) off += index[i] * st[k][i];
      args[k] = inputs[k].data[off];
    }
    data[n] = fn(...args);
    for (let i = rank - 1; i >= 0; i--) {
      if (++index[i] < dims[i]) break;
      index[i] = 0;
    }
  }
  return { data, dims, dataType: 1 };
}
