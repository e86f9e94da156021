/**
 * Open Inference Protocol (V2) request bodies for tests and the benchmark: one FP32 image tensor
 * `[1, 3, h, w]` of seeded values, as JSON or with the binary tensor extension.
 *
 * @module
 */
import { seededRandom } from "./onnx_builder.ts";

/** Seeded values for a `[1, 3, h, w]` tensor, uniform in [lo, hi). */
export function v2Input(h = 16, w = 16, { seed = 7, lo = 0, hi = 1 } = {}): Float32Array {
  const rnd = seededRandom(seed);
  return new Float32Array(3 * h * w).map(() => lo + (hi - lo) * rnd());
}

/** A V2 JSON inference body with `x` as the `image` input of shape `[1, 3, h, w]`. */
export function v2Body(x: Float32Array = v2Input(), h = 16, w = 16): string {
  return JSON.stringify({
    inputs: [{ name: "image", datatype: "FP32", shape: [1, 3, h, w], data: Array.from(x) }],
  });
}

/**
 * A V2 binary-extension body: a JSON header (`binary_data_size`, binary output asked for),
 * then `x`'s bytes. Send `headerLength` as `Inference-Header-Content-Length`.
 */
export function v2BinaryBody(
  x: Float32Array,
  h: number,
  w: number,
): { body: Uint8Array<ArrayBuffer>; headerLength: number } {
  const header = new TextEncoder().encode(JSON.stringify({
    inputs: [{
      name: "image",
      datatype: "FP32",
      shape: [1, 3, h, w],
      parameters: { binary_data_size: x.byteLength },
    }],
    outputs: [{ name: "logits", parameters: { binary_data: true } }],
  }));
  const body = new Uint8Array(header.length + x.byteLength);
  body.set(header);
  body.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), header.length);
  return { body, headerLength: header.length };
}
