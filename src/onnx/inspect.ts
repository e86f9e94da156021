/**
 * Reads what the server needs to know about an ONNX file without running it: opset,
 * input/output names and shapes, the external-data files it references and its receptive
 * field.
 *
 * @module
 */
import { decodeModel, type onnx, toNumber } from "./proto.ts";
import { type ReceptiveField, receptiveField } from "./receptive_field.ts";

/** A tensor's declared shape: numbers for fixed dims, strings (or null) for dynamic ones. */
export interface TensorInfo {
  name: string;
  dims: (number | string | null)[];
  elemType: number;
}

/** Summary of an ONNX model. */
export interface ModelInfo {
  opset: number;
  producer: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** `location`s of external-data tensors, deduplicated */
  externalData: string[];
  /** operator types used, deduplicated */
  ops: string[];
  /** number of float parameters stored in initializers */
  parameterCount: number;
  /** how far an output pixel sees (null: not a graph that can be tiled, see receptive_field.ts) */
  receptiveField: ReceptiveField | null;
}

/**
 * Inspects `.onnx` bytes.
 * @throws {Error} when the bytes are not an ONNX model
 */
export function inspectModel(bytes: Uint8Array): ModelInfo {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const initializers = graph.initializer ?? [];
  const initNames = new Set(initializers.map((t) => t.name));
  const info = (v: onnx.IValueInfoProto): TensorInfo => ({
    name: v.name ?? "",
    elemType: v.type?.tensorType?.elemType ?? 0,
    dims: (v.type?.tensorType?.shape?.dim ?? []).map((d: onnx.TensorShapeProto.IDimension) =>
      d.dimParam
        ? d.dimParam
        : d.dimValue !== null && d.dimValue !== undefined && toNumber(d.dimValue) > 0
        ? toNumber(d.dimValue)
        : null
    ),
  });
  const externalData = new Set<string>();
  let parameterCount = 0;
  for (const t of initializers) {
    parameterCount += (t.dims ?? []).reduce((a: number, d) => a * toNumber(d), 1);
    for (const e of t.externalData ?? []) {
      if (e.key === "location" && e.value) externalData.add(e.value);
    }
  }
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx")?.version;
  return {
    opset: toNumber(opset),
    producer: `${model.producerName ?? ""} ${model.producerVersion ?? ""}`.trim(),
    inputs: (graph.input ?? []).filter((v) => !initNames.has(v.name ?? "")).map(info),
    outputs: (graph.output ?? []).map(info),
    externalData: [...externalData],
    ops: [...new Set((graph.node ?? []).map((n) => n.opType ?? ""))],
    parameterCount,
    receptiveField: receptiveField(model),
  };
}
