/**
 * The numbers inside ONNX `TensorProto`s for the quantiser: float32 weights read (from raw
 * bytes, `float_data` or external data files, through src/onnx/tensor_data.ts), and the
 * int8/uint8/int32/float tensors that quantisation writes. (Inlining external data:
 * src/onnx/external_data.ts.)
 *
 * @module
 */
import { join } from "node:path";
import { DataType, type onnx } from "../../src/onnx/proto.ts";
import {
  checkExternalLocation,
  externalLocation,
  isExternal,
  readTensor,
} from "../../src/onnx/tensor_data.ts";

/**
 * The values of a float32 tensor (read by src/onnx/tensor_data.ts).
 * @param t the tensor (raw data, float_data, or external data)
 * @param modelDir folder of the `.onnx` file, where external data lives
 * @throws {Error} for another data type, an unsafe location, or a missing/short external file
 */
export function readFloat32(t: onnx.ITensorProto, modelDir: string): Float32Array {
  if (t.dataType !== DataType.FLOAT) {
    throw new Error(`tensor "${t.name}" is not float32 (data type ${t.dataType})`);
  }
  if (!isExternal(t)) return readTensor(t).data;
  const location = checkExternalLocation(externalLocation(t), `tensor "${t.name}"`);
  const files = new Map([[location, Deno.readFileSync(join(modelDir, location))]]);
  return readTensor({ ...t, dataLocation: 1 }, files).data;
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
