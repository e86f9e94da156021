/**
 * The calibration copy of a model: the same graph with every tensor calibration must see
 * declared as an extra graph output, so one engine run returns them all.
 *
 * @module
 */
import { decodeModel, encodeModel, type onnx } from "../../src/onnx/proto.ts";

/**
 * Encodes a copy of `model` whose graph also outputs `tensors`. The extra outputs carry no
 * type: onnxruntime takes the type the graph gives them, so tensors of unknown type (the
 * outputs of ops the quantiser does not model) can be exposed and their type read back.
 * @param model the float model (not modified)
 * @param tensors names of tensors to expose (graph inputs and existing outputs are skipped)
 * @returns `.onnx` bytes
 */
export function exposeTensors(model: onnx.IModelProto, tensors: readonly string[]): Uint8Array {
  const copy: onnx.IModelProto = decodeModel(encodeModel(model));
  const graph = copy.graph!;
  const outputs = [...(graph.output ?? [])];
  const existing = new Set(
    [...(graph.output ?? []), ...(graph.input ?? [])].map((v) => v.name ?? ""),
  );
  for (const name of tensors) {
    if (existing.has(name)) continue;
    existing.add(name);
    outputs.push({ name });
  }
  graph.output = outputs;
  return encodeModel(copy);
}

/** Every tensor a graph computes (node outputs), in node order. */
export function nodeOutputs(model: onnx.IModelProto): string[] {
  return (model.graph?.node ?? []).flatMap((n) => (n.output ?? []).filter(Boolean));
}
