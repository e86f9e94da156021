/**
 * Float32 tensors handed back once read, for the next request of the same size: a request's
 * input tensor (preprocess, given back after the run) and the direct engine's output (given
 * back after postprocess). A 256×192 RGB request's input is 590 KB: fresh ones per request
 * (~170 MB/s at c=8) made V8 run a full mark-compact every ~0.2 s for the external memory
 * alone (`--trace-gc`: 12.1-12.7 a thousand requests; 7.5-8.2 with the input pooled).
 * Bounded (a few per size, a few sizes).
 *
 * @module
 */

/** Tensors kept per length. */
const PER_SIZE = 4;
/** Lengths kept (the least recently given goes). */
const SIZES = 4;

const pool = new Map<number, Float32Array[]>();

/** A Float32Array of `length`, reused when one was given back; zeroed unless `zero` is false. */
export function takeTensor(length: number, zero = true): Float32Array {
  const kept = pool.get(length)?.pop();
  if (!kept) return new Float32Array(length);
  return zero ? kept.fill(0) : kept;
}

/** Gives a tensor no one reads any more back for reuse. */
export function giveTensor(data: Float32Array): void {
  // a view of a larger buffer, or one moved to another thread meanwhile
  if (data.length === 0 || data.byteOffset !== 0 || data.buffer.byteLength !== data.byteLength) {
    return;
  }
  let list = pool.get(data.length);
  if (!list) {
    if (pool.size >= SIZES) pool.delete(pool.keys().next().value!);
    list = [];
    pool.set(data.length, list);
  }
  if (list.length < PER_SIZE && !list.includes(data)) list.push(data);
}

/** Tensors held now (tests). */
export function pooledTensors(): number {
  return [...pool.values()].reduce((n, l) => n + l.length, 0);
}
