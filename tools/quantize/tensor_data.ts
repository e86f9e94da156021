/**
 * Reading and writing the numbers inside ONNX `TensorProto`s: float32 weights stored as
 * raw bytes, `float_data` or external data, and the int8/uint8/int32/float tensors that
 * quantisation writes. (Inlining external data: `src/onnx/external_data.ts`.)
 *
 * @module
 */
import { join } from "node:path";
import { DataType, type onnx, toNumber } from "../../src/onnx/proto.ts";

/** The dimensions of a tensor as numbers. */
export function dimsOf(t: onnx.ITensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d as number));
}

function externalField(t: onnx.ITensorProto, key: string): string | undefined {
  return (t.externalData ?? []).find((e) => e.key === key)?.value ?? undefined;
}

/**
 * The values of a float32 tensor.
 * @param t the tensor (raw data, float_data, or external data)
 * @param modelDir folder of the `.onnx` file, where external data lives
 * @throws {Error} for another data type or a missing/short external file
 */
export function readFloat32(t: onnx.ITensorProto, modelDir: string): Float32Array {
  if (t.dataType !== DataType.FLOAT) {
    throw new Error(`tensor "${t.name}" is not float32 (data type ${t.dataType})`);
  }
  const count = dimsOf(t).reduce((a, b) => a * b, 1);
  let bytes: Uint8Array | undefined;
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0) {
    const location = externalField(t, "location");
    if (!location || location.includes("..") || location.startsWith("/")) {
      throw new Error(`tensor "${t.name}" has an unusable external data location "${location}"`);
    }
    const file = Deno.readFileSync(join(modelDir, location));
    const offset = Number(externalField(t, "offset") ?? 0);
    const length = Number(externalField(t, "length") ?? count * 4);
    if (offset + length > file.length) {
      throw new Error(`external data of "${t.name}" runs past the end of ${location}`);
    }
    bytes = file.subarray(offset, offset + length);
  } else if (t.rawData && t.rawData.length > 0) {
    bytes = t.rawData;
  }
  if (bytes) {
    if (bytes.length !== count * 4) {
      throw new Error(`tensor "${t.name}" holds ${bytes.length} bytes for ${count} floats`);
    }
    // copy into a fresh buffer: the source may be unaligned, or a Node Buffer view whose
    // slice() shares (and whose .buffer is) a larger pool
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    return new Float32Array(copy.buffer);
  }
  const values = Float32Array.from(t.floatData ?? []);
  if (values.length !== count) {
    throw new Error(`tensor "${t.name}" holds ${values.length} floats, its shape needs ${count}`);
  }
  return values;
}

function raw(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** A float32 tensor (raw data). */
export function float32Tensor(
  name: string,
  dims: number[],
  values: Float32Array,
): onnx.ITensorProto {
  return { name, dims, dataType: DataType.FLOAT, rawData: raw(values) };
}

/** An int8 tensor (raw data). */
export function int8Tensor(name: string, dims: number[], values: Int8Array): onnx.ITensorProto {
  return { name, dims, dataType: DataType.INT8, rawData: raw(values) };
}

/** A uint8 tensor (raw data). */
export function uint8Tensor(name: string, dims: number[], values: Uint8Array): onnx.ITensorProto {
  return { name, dims, dataType: DataType.UINT8, rawData: raw(values) };
}

/** An int32 tensor (raw data, little-endian as ONNX requires). */
export function int32Tensor(name: string, dims: number[], values: Int32Array): onnx.ITensorProto {
  return { name, dims, dataType: DataType.INT32, rawData: raw(values) };
}
