/**
 * ONNX `TensorProto` → numbers, one reader for everyone (the tfjs-wasm engine's constants,
 * the quantiser's weights, the benchmark's FLOP counter): raw_data, the typed fields
 * (float_data, int32_data, int64_data, double_data) and external data, for the element
 * types a U-Net and its int8 variant store; and the one check of an external-data location
 * (a plain relative path inside the model's folder).
 *
 * @module
 */
import { type onnx, toNumber } from "./proto.ts";

/** A constant tensor in ONNX layout. Values are held as float32 (ints are exact to 2^24). */
export interface ConstTensor {
  data: Float32Array;
  dims: number[];
  /** the ONNX element type it was stored as (DataType code) */
  dataType: number;
}

/** External-data bytes by `location`. */
export type ExternalData = ReadonlyMap<string, Uint8Array>;

/** An element type this reader does not convert. */
export class UnsupportedElementTypeError extends Error {
  constructor(tensor: string, readonly dataType: number) {
    super(`tensor ${tensor}: unsupported element type ${dataTypeName(dataType)}`);
    this.name = "UnsupportedElementTypeError";
  }
}

const BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 11: 8 };
const NAMES: Record<number, string> = {
  1: "float",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  9: "bool",
  10: "float16",
  11: "double",
  16: "bfloat16",
};

/** Name of an ONNX element type code, for messages. */
export function dataTypeName(code: number): string {
  return NAMES[code] ?? `type ${code}`;
}

/** The dimensions of a tensor as numbers. */
export function dimsOf(t: onnx.ITensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d as number));
}

/** Whether the tensor's values live in an external file. */
export function isExternal(t: onnx.ITensorProto): boolean {
  return t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0;
}

/** The `location` of a tensor's external data (undefined when it has none). */
export function externalLocation(t: onnx.ITensorProto): string | undefined {
  return t.externalData?.find((e) => e.key === "location")?.value ?? undefined;
}

/**
 * Checks an external-data location from a model file: a relative path that stays inside
 * the model's folder (no `..`, not absolute, not empty).
 * @param where names the model or tensor in the message
 * @throws {Error} for any other location
 */
export function checkExternalLocation(location: string | undefined, where: string): string {
  if (!location || location.includes("..") || location.startsWith("/")) {
    throw new Error(`${where}: external data location "${location ?? ""}" leaves the model folder`);
  }
  return location;
}

function fromBytes(bytes: Uint8Array, dataType: number, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = count * BYTES[dataType];
  if (bytes.byteLength < need) {
    throw new Error(`tensor data has ${bytes.byteLength} bytes, needs ${need}`);
  }
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    switch (dataType) {
      case 1:
        out[i] = view.getFloat32(i * 4, true);
        break;
      case 2:
        out[i] = view.getUint8(i);
        break;
      case 3:
        out[i] = view.getInt8(i);
        break;
      case 6:
        out[i] = view.getInt32(i * 4, true);
        break;
      case 7:
        out[i] = Number(view.getBigInt64(i * 8, true));
        break;
      case 11:
        out[i] = view.getFloat64(i * 8, true);
        break;
    }
  }
  return out;
}

function externalBytes(t: onnx.ITensorProto, external: ExternalData): Uint8Array {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? "", e.value ?? ""]));
  const location = entries.get("location") ?? "";
  const file = external.get(location);
  if (!file) throw new Error(`tensor ${t.name}: external data "${location}" was not provided`);
  const offset = Number(entries.get("offset") ?? 0);
  const length = entries.has("length") ? Number(entries.get("length")) : file.byteLength - offset;
  if (!(offset >= 0 && length >= 0 && offset + length <= file.byteLength)) {
    throw new Error(
      `tensor ${t.name}: external data range ${offset}+${length} is outside "${location}"`,
    );
  }
  return file.subarray(offset, offset + length);
}

/**
 * Reads a tensor's values as float32.
 * @param t the tensor (an initializer or a Constant node's value)
 * @param external external-data files by location
 * @throws {UnsupportedElementTypeError} for types other than float, double, (u)int8, int32, int64
 * @throws {Error} when the stored data is shorter than its shape needs, or external data is
 *   missing or out of range
 */
export function readTensor(t: onnx.ITensorProto, external: ExternalData = new Map()): ConstTensor {
  const dims = dimsOf(t);
  const dataType = t.dataType ?? 0;
  const count = dims.reduce((a, b) => a * b, 1);
  if (!(dataType in BYTES)) throw new UnsupportedElementTypeError(t.name ?? "", dataType);
  let data: Float32Array;
  if (t.dataLocation === 1) {
    data = fromBytes(externalBytes(t, external), dataType, count);
  } else if (t.rawData && t.rawData.length > 0) {
    data = fromBytes(t.rawData, dataType, count);
  } else {
    const typed: ArrayLike<number | { toNumber(): number }> = dataType === 1
      ? (t.floatData ?? [])
      : dataType === 11
      ? (t.doubleData ?? [])
      : dataType === 7
      ? (t.int64Data ?? [])
      : (t.int32Data ?? []); // uint8, int8 and int32 are stored in int32_data
    if (typed.length < count) {
      throw new Error(`tensor ${t.name} has ${typed.length} values, needs ${count}`);
    }
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = toNumber(typed[i] as number);
  }
  return { data, dims, dataType };
}
