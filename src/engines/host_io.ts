/**
 * How a run's inputs travel to an engine host Worker and back without leaving garbage in it.
 *
 * Posting the inputs as they are (structured clone) made a fresh copy in the Worker for
 * every run. A Worker allocates little JavaScript, so V8 collects it seldom, and those
 * copies piled up as external memory until V8's external-memory limit forced a collection:
 * ~50 MiB per host Worker after 600 runs at 256², ~100 MiB for the two engine lanes at c=8.
 * Instead the inputs are copied into one ArrayBuffer from a small pool, transferred (moved,
 * not copied) to the Worker, read there in place, and transferred back with the result to be
 * used again: in steady state no run allocates an input buffer on either side.
 * (onnxruntime-node refuses tensors over a SharedArrayBuffer, so the buffer moves instead.)
 *
 * @module
 */
import type { Tensor } from "./engine.ts";
import { releaseNow } from "../memory/release.ts";

/** Inputs packed into one buffer: where each tensor lies. */
export interface PackedFeeds {
  buffer: ArrayBuffer;
  inputs: { name: string; offset: number; length: number; dims: number[] }[];
}

const ALIGN = 64;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** Bytes a packing of `feeds` needs. */
export function packedBytes(feeds: Record<string, Tensor>): number {
  let bytes = 0;
  for (const t of Object.values(feeds)) bytes += align(t.data.byteLength);
  return bytes;
}

/** Copies `feeds` into `buffer` (at least {@link packedBytes} long). */
export function packFeeds(feeds: Record<string, Tensor>, buffer: ArrayBuffer): PackedFeeds {
  const inputs: PackedFeeds["inputs"] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(feeds)) {
    new Float32Array(buffer, offset, t.data.length).set(t.data);
    inputs.push({ name, offset, length: t.data.length, dims: [...t.dims] });
    offset += align(t.data.byteLength);
  }
  return { buffer, inputs };
}

/** Views of the packed inputs (no copy). */
export function unpackFeeds(packed: PackedFeeds): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const i of packed.inputs) {
    feeds[i.name] = { data: new Float32Array(packed.buffer, i.offset, i.length), dims: i.dims };
  }
  return feeds;
}

/**
 * A few input buffers of one host, reused: the smallest that fits is taken; buffers over
 * `keepBytes` (a one-off large V2 tensor) are not kept, so a rare large run does not pin
 * its size.
 */
export class BufferPool {
  #free: ArrayBuffer[] = [];

  constructor(readonly keepBytes = 8 * 2 ** 20, readonly keepCount = 4) {}

  /** Buffers kept now (for tests). */
  get size(): number {
    return this.#free.length;
  }

  take(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const b = this.#free[i];
      if (b.byteLength >= bytes && (best < 0 || b.byteLength < this.#free[best].byteLength)) {
        best = i;
      }
    }
    if (best >= 0) return this.#free.splice(best, 1)[0];
    // a little headroom, so that inputs of nearby sizes share buffers
    return new ArrayBuffer(Math.max(ALIGN, align(bytes * 1.0625)));
  }

  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0) return; // detached
    if (buffer.byteLength > this.keepBytes) return releaseNow(buffer); // a one-off large input
    if (this.#free.length >= this.keepCount) {
      // keep the larger ones: they fit more inputs
      let smallest = 0;
      for (let i = 1; i < this.#free.length; i++) {
        if (this.#free[i].byteLength < this.#free[smallest].byteLength) smallest = i;
      }
      if (this.#free[smallest].byteLength >= buffer.byteLength) return;
      this.#free.splice(smallest, 1);
    }
    this.#free.push(buffer);
  }
}
