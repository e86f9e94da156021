/**
 * Open Inference Protocol (KServe V2) request parsing and response encoding, including
 * the binary tensor data extension (`Inference-Header-Content-Length`,
 * `binary_data_size`, `binary_data`, `binary_data_output`).
 *
 * @module
 */
import type { Tensor } from "../engines/engine.ts";
import { ApiError } from "../errors.ts";

/** Header carrying the JSON part's length in binary-extension messages. */
export const INFERENCE_HEADER = "inference-header-content-length";

/** A parsed V2 inference request. */
export interface V2Request {
  id?: string;
  inputs: { name: string; tensor: Tensor }[];
  /** outputs asked for (all when empty), and whether each should come back binary */
  outputs: { name: string; binary: boolean }[];
  /** request-level `binary_data_output` */
  binaryOutput: boolean;
}

interface RawTensor {
  name?: unknown;
  shape?: unknown;
  datatype?: unknown;
  data?: unknown;
  parameters?: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Collects the numbers of nested arrays into `out`; stops (422) past `max` of them. */
function flatten(data: unknown, out: number[], max: number, depth = 0): void {
  if (depth > 8) throw new ApiError("invalid_tensor", "tensor data is nested too deeply");
  if (Array.isArray(data)) {
    for (const v of data) flatten(v, out, max, depth + 1);
  } else if (typeof data === "number") {
    if (out.length === max) {
      throw new ApiError("invalid_tensor", `tensor data holds more than the shape's ${max} values`);
    }
    out.push(data);
  } else {
    throw new ApiError(
      "invalid_tensor",
      `tensor data must hold numbers, found ${data === null ? "null" : typeof data}`,
    );
  }
}

function parseShape(shape: unknown, name: string): number[] {
  if (
    !Array.isArray(shape) || shape.length === 0 || shape.length > 8 ||
    !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  ) {
    throw new ApiError(
      "invalid_tensor",
      `input "${name}": shape must be an array of non-negative integers`,
    );
  }
  return shape as number[];
}

/**
 * Parses a V2 request body. Binary tensors become views of `body` (its bytes may be moved
 * to align them): the caller must not reuse the body.
 * @param body the whole body
 * @param headerLength value of `Inference-Header-Content-Length`, if sent
 * @param maxElements largest tensor accepted (413 above)
 * @throws {ApiError} 400 malformed JSON/structure/binary framing, 413 too large, 422 bad tensor
 */
export function parseV2Request(
  body: Uint8Array,
  headerLength: string | undefined,
  maxElements: number,
): V2Request {
  let jsonBytes: Uint8Array = body, binary: Uint8Array = new Uint8Array(0);
  if (headerLength !== undefined) {
    const n = /^\d{1,15}$/.test(headerLength) ? Number(headerLength) : NaN; // no 0x10, +10, 1e3
    if (!Number.isSafeInteger(n) || n <= 0 || n > body.length) {
      throw new ApiError(
        "bad_request",
        `Inference-Header-Content-Length ${
          headerLength.slice(0, 20)
        } does not fit a ${body.length}-byte body`,
      );
    }
    jsonBytes = body.subarray(0, n);
    binary = body.subarray(n);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(jsonBytes));
  } catch (err) {
    throw new ApiError("bad_json", `request is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(json) || !Array.isArray(json.inputs) || json.inputs.length === 0) {
    throw new ApiError("bad_request", 'request must be an object with a non-empty "inputs" array');
  }
  // Binary tensors are used in place: the JSON part is parsed, so the tensor bytes may be
  // moved down over it to a 4-byte boundary, and each input is a Float32Array view of the
  // body (no copy: the peak stays at the body itself).
  if (binary.length > 0 && binary.byteOffset % 4 !== 0 && binary.byteOffset >= 3) {
    const aligned = binary.byteOffset - (binary.byteOffset % 4);
    const whole = new Uint8Array(binary.buffer);
    whole.copyWithin(aligned, binary.byteOffset, binary.byteOffset + binary.length);
    binary = whole.subarray(aligned, aligned + binary.length);
  }
  let offset = 0;
  const inputs = json.inputs.map((raw: unknown, i: number) => {
    if (!isObject(raw)) throw new ApiError("bad_request", `inputs[${i}] must be an object`);
    const t = raw as RawTensor;
    if (typeof t.name !== "string" || t.name === "") {
      throw new ApiError("bad_request", `inputs[${i}] needs a "name"`);
    }
    const name = t.name;
    const shape = parseShape(t.shape, name);
    if (t.datatype !== "FP32") {
      throw new ApiError(
        "invalid_tensor",
        `input "${name}": datatype ${
          JSON.stringify(t.datatype)?.slice(0, 20)
        } is not supported; send FP32`,
      );
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > maxElements) {
      throw new ApiError(
        "too_many_pixels",
        `input "${name}" has ${count} elements; the limit is ${maxElements}`,
      );
    }
    let data: Float32Array;
    const size = t.parameters?.binary_data_size;
    if (size !== undefined) {
      if (
        !Number.isSafeInteger(size) || (size as number) < 0 ||
        offset + (size as number) > binary.length
      ) {
        throw new ApiError(
          "bad_request",
          `input "${name}": binary_data_size ${
            String(size).slice(0, 20)
          } exceeds the binary data sent`,
        );
      }
      if (size !== count * 4) {
        throw new ApiError(
          "invalid_tensor",
          `input "${name}": binary_data_size ${size} ≠ ${count} FP32 elements × 4 bytes`,
        );
      }
      const at = binary.byteOffset + offset;
      if (at % 4 === 0) data = new Float32Array(binary.buffer, at, count);
      else {
        data = new Float32Array(count);
        new Uint8Array(data.buffer).set(binary.subarray(offset, offset + count * 4));
      }
      offset += count * 4;
    } else {
      if (t.data === undefined) {
        throw new ApiError(
          "bad_request",
          `input "${name}" has neither "data" nor binary_data_size`,
        );
      }
      const values: number[] = [];
      flatten(t.data, values, count);
      if (values.length !== count) {
        throw new ApiError(
          "invalid_tensor",
          `input "${name}": shape [${shape}] needs ${count} values, got ${values.length}`,
        );
      }
      data = Float32Array.from(values);
    }
    for (let k = 0; k < data.length; k++) {
      if (!Number.isFinite(data[k])) {
        throw new ApiError(
          "invalid_tensor",
          `input "${name}" holds a non-finite value at index ${k}`,
        );
      }
    }
    return { name, tensor: { data, dims: shape } };
  });
  if (offset !== binary.length) {
    throw new ApiError(
      "bad_request",
      `${binary.length - offset} bytes of binary data are not claimed by any input`,
    );
  }
  if (json.outputs !== undefined && !Array.isArray(json.outputs)) {
    throw new ApiError("bad_request", '"outputs" must be an array');
  }
  if (json.parameters !== undefined && !isObject(json.parameters)) {
    throw new ApiError("bad_request", '"parameters" must be an object');
  }
  const params = isObject(json.parameters) ? json.parameters : {};
  const outputs = Array.isArray(json.outputs)
    ? json.outputs.map((o: unknown, i: number) => {
      if (!isObject(o) || typeof o.name !== "string") {
        throw new ApiError("bad_request", `outputs[${i}] needs a "name"`);
      }
      const p = isObject(o.parameters) ? o.parameters : {};
      return { name: o.name, binary: p.binary_data === true };
    })
    : [];
  if (json.id !== undefined && typeof json.id !== "string") {
    throw new ApiError("bad_request", '"id" must be a string');
  }
  return {
    id: json.id as string | undefined,
    inputs,
    outputs,
    binaryOutput: params.binary_data_output === true,
  };
}

/**
 * Builds the V2 response: plain JSON, or JSON header + binary tensors streamed from the
 * tensors' own bytes (see {@link partsStream}).
 */
export function encodeV2Response(
  meta: V2JsonInput["meta"],
  outputs: { name: string; tensor: Tensor; binary: boolean }[],
): { body: ReadableStream<Uint8Array> | string; headers: Record<string, string> } {
  const { text, binaries } = v2Header(meta, outputs);
  if (binaries.length === 0) return { body: text, headers: { "Content-Type": "application/json" } };
  const header = new TextEncoder().encode(text);
  const length = binaries.reduce((n, b) => n + b.length, header.length);
  return {
    body: partsStream([header, ...binaries]),
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(length),
      "Inference-Header-Content-Length": String(header.length),
    },
  };
}

/** A V2 answer's JSON (values inline where not binary) and its binary tensors' bytes. */
function v2Header(
  meta: V2JsonInput["meta"],
  outputs: { name: string; tensor: Tensor; binary: boolean }[],
): { text: string; binaries: Uint8Array[] } {
  const binaries: Uint8Array[] = [];
  const json = {
    ...meta,
    ...(meta.id === undefined ? {} : { id: meta.id }),
    outputs: outputs.map(({ name, tensor, binary }) => {
      const base = { name, datatype: "FP32", shape: tensor.dims };
      if (!binary) return { ...base, data: Array.from(tensor.data) };
      const bytes = new Uint8Array(
        tensor.data.buffer,
        tensor.data.byteOffset,
        tensor.data.byteLength,
      );
      binaries.push(bytes);
      return { ...base, parameters: { binary_data_size: bytes.length } };
    }),
  };
  return { text: JSON.stringify(json), binaries };
}

/** A V2 answer to write as JSON: its metadata and output tensors. */
export interface V2JsonInput {
  meta: { model_name: string; model_version: string; id?: string };
  outputs: { name: string; tensor: Tensor }[];
}

/** A V2 answer in JSON, as UTF-8 bytes (see {@link encodeV2Response}). */
export function encodeV2Json({ meta, outputs }: V2JsonInput): Uint8Array<ArrayBuffer> {
  const { text } = v2Header(meta, outputs.map((o) => ({ ...o, binary: false })));
  return new TextEncoder().encode(text);
}

/**
 * The parts one after another as a stream, without joining them: a binary answer is sent
 * from the output tensor itself, not from a copy (a 1600² output is 9.8 MiB). The reader may
 * keep views of the parts (a whole-body read joins them at its end): release their buffers
 * only once the response is sent (`releaseWhenSent`), never when the last part is handed on.
 */
export function partsStream(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < parts.length) return controller.enqueue(parts[next++]);
      controller.close();
    },
  }, { highWaterMark: 0 });
}
