/**
 * Folds inference-mode `BatchNormalization` into the `Conv` or `ConvTranspose` before it,
 * so weights are quantised as they are used: with k = scale / sqrt(var + eps) per output
 * channel, W' = W · k and b' = (b − mean) · k + bias. The output-channel axis of a Conv
 * weight `[Cout, Cin/g, kH, kW]` is 0; of a ConvTranspose weight `[Cin, Cout/g, kH, kW]`
 * it is 1 (with groups, input-channel block i feeds output block i).
 *
 * @module
 */
import type { onnx } from "../../src/onnx/proto.ts";
import { GraphIndex } from "./graph_index.ts";
import { Attributes } from "../../src/onnx/attributes.ts";
import { dimsOf } from "../../src/onnx/tensor_data.ts";
import { float32Tensor, readFloat32 } from "./tensor_data.ts";

/**
 * The output channel of every weight element, for a Conv (`transposed` false) or
 * ConvTranspose weight of shape `dims`.
 */
export function outputChannelOf(
  dims: number[],
  transposed: boolean,
  group: number,
): (index: number) => number {
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  if (!transposed) return (i) => Math.floor(i / (dims[1] * inner));
  const cin = dims[0], coutPerGroup = dims[1], cinPerGroup = cin / group;
  return (i) => {
    const ci = Math.floor(i / (coutPerGroup * inner));
    const j = Math.floor(i / inner) % coutPerGroup;
    return Math.floor(ci / cinPerGroup) * coutPerGroup + j;
  };
}

/** Number of output channels of a Conv / ConvTranspose weight. */
export function outputChannels(dims: number[], transposed: boolean, group: number): number {
  return transposed ? dims[1] * group : dims[0];
}

/**
 * Folds every foldable BatchNormalization in place.
 * @param model the model (its graph is edited)
 * @param modelDir folder of the model, for external data
 * @returns the number of BatchNormalization nodes removed
 */
export function foldBatchNorm(model: onnx.IModelProto, modelDir: string): number {
  const graph = model.graph!;
  const index = new GraphIndex(graph);
  const removed = new Set<onnx.INodeProto>();
  const newInitializers: onnx.ITensorProto[] = [];
  for (const bn of graph.node ?? []) {
    if (bn.opType !== "BatchNormalization" || (bn.output?.filter(Boolean).length ?? 0) !== 1) {
      continue;
    }
    if (new Attributes(bn).int("training_mode", 0) !== 0) continue;
    const [x, scaleName, biasName, meanName, varName] = bn.input ?? [];
    const conv = index.producer.get(x);
    if (!conv || (conv.opType !== "Conv" && conv.opType !== "ConvTranspose")) continue;
    if (index.readersOf(x).length !== 1 || index.graphOutputs.has(x)) continue;
    const params = [scaleName, biasName, meanName, varName].map((n) => index.initializers.get(n));
    const weight = index.initializers.get(conv.input?.[1] ?? "");
    const oldBias = conv.input?.[2] ? index.initializers.get(conv.input[2]) : undefined;
    if (params.some((p) => !p) || !weight || (conv.input?.[2] && !oldBias)) continue;
    const [scale, beta, mean, variance] = params.map((p) => readFloat32(p!, modelDir));
    const eps = new Attributes(bn).float("epsilon", 1e-5);
    const transposed = conv.opType === "ConvTranspose";
    const group = new Attributes(conv).int("group", 1);
    const dims = dimsOf(weight);
    const cout = outputChannels(dims, transposed, group);
    if (scale.length !== cout) continue;
    const k = scale.map((s, c) => s / Math.sqrt(variance[c] + eps));
    const w = readFloat32(weight, modelDir);
    const channelOf = outputChannelOf(dims, transposed, group);
    const folded = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) folded[i] = w[i] * k[channelOf(i)];
    const b = oldBias ? readFloat32(oldBias, modelDir) : new Float32Array(cout);
    const bias = new Float32Array(cout);
    for (let c = 0; c < cout; c++) bias[c] = (b[c] - mean[c]) * k[c] + beta[c];
    const wName = `${weight.name}_bnf${newInitializers.length}`;
    const bName = `${bn.output![0]}_bnb${newInitializers.length}`;
    newInitializers.push(float32Tensor(wName, dims, folded), float32Tensor(bName, [cout], bias));
    conv.input = [conv.input![0], wName, bName];
    conv.output = [bn.output![0]];
    removed.add(bn);
  }
  if (removed.size === 0) return 0;
  graph.node = (graph.node ?? []).filter((n) => !removed.has(n));
  graph.initializer = [...(graph.initializer ?? []), ...newInitializers];
  pruneInitializers(graph);
  return removed.size;
}

/** Drops initializers (and their graph-input entries) that no node reads any more. */
export function pruneInitializers(graph: onnx.IGraphProto): void {
  const used = new Set<string>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) used.add(i);
  for (const o of graph.output ?? []) used.add(o.name ?? "");
  const dropped = new Set(
    (graph.initializer ?? []).filter((t) => !used.has(t.name ?? "")).map((t) => t.name ?? ""),
  );
  graph.initializer = (graph.initializer ?? []).filter((t) => !dropped.has(t.name ?? ""));
  graph.input = (graph.input ?? []).filter((v) => !dropped.has(v.name ?? ""));
}
