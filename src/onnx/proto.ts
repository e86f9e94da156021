/**
 * The ONNX protobuf schema (from the maintained `onnx-proto` package), re-exported
 * with the few helpers every reader and writer of `.onnx` files here needs.
 *
 * @module
 */
import onnxProto from "onnx-proto";

/** The `onnx` protobuf namespace: `ModelProto`, `GraphProto`, `TensorProto`, … */
export const onnx = onnxProto.onnx;
export declare namespace onnx {
  export type ModelProto = onnxProto.onnx.ModelProto;
  export type IModelProto = onnxProto.onnx.IModelProto;
  export type GraphProto = onnxProto.onnx.GraphProto;
  export type IGraphProto = onnxProto.onnx.IGraphProto;
  export type NodeProto = onnxProto.onnx.NodeProto;
  export type INodeProto = onnxProto.onnx.INodeProto;
  export type TensorProto = onnxProto.onnx.TensorProto;
  export type ITensorProto = onnxProto.onnx.ITensorProto;
  export type IAttributeProto = onnxProto.onnx.IAttributeProto;
  export type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
  export namespace TensorShapeProto {
    export type IDimension = onnxProto.onnx.TensorShapeProto.IDimension;
  }
}

/** ONNX `TensorProto.DataType` codes used in this project. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

/**
 * Decodes `.onnx` bytes into a `ModelProto`.
 *
 * @throws {Error} when the bytes are not a protobuf ModelProto with a graph.
 */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(`not an ONNX model: ${(err as Error).message}`);
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new Error("not an ONNX model: it has no graph nodes");
  }
  return model;
}

/** Encodes a `ModelProto` (or its plain-object form) to `.onnx` bytes. */
export function encodeModel(model: onnxProto.onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Converts a protobuf int64 (number or Long) to a JS number. */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "number" ? value : value.toNumber();
}
