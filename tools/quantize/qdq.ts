/**
 * Rewrites a float graph into QDQ form following a {@link QuantPlan}: every planned tensor
 * gets `QuantizeLinear → DequantizeLinear` and its quantised readers read the dequantised
 * copy; Conv/ConvTranspose weights become int8 initializers behind a DequantizeLinear
 * (per output channel: axis 0 for Conv, axis 1 for ConvTranspose `[Cin, Cout/g, kH, kW]`),
 * biases int32 with scale = input scale × weight scale; folded ReLUs are removed (the
 * quantiser's clamp at the zero point is the ReLU). onnxruntime fuses the result into
 * QLinearConv and friends at load time.
 *
 * @module
 */
import type { onnx } from "../../src/onnx/proto.ts";
import { outputChannels } from "./fold_batchnorm.ts";
import { pruneInitializers } from "./fold_batchnorm.ts";
import { topologicalOrder } from "./graph_index.ts";
import type { QuantPlan } from "./plan.ts";
import type { ActivationType, QParams } from "./qparams.ts";
import { quantizeBias, quantizeWeight } from "./quantize_weights.ts";
import { Attributes } from "../../src/onnx/attributes.ts";
import { dimsOf } from "../../src/onnx/tensor_data.ts";
import { float32Tensor, int32Tensor, int8Tensor, readFloat32, uint8Tensor } from "./tensor_data.ts";

/**
 * Short, unused tensor names for what the rewrite adds (`s0`, `q1`, `d2`, …): a QDQ graph
 * repeats each name several times, and long exporter names (`/encoder/blocks.0/…`) would
 * add tens of kilobytes to a model of ~80 k parameters.
 */
class NameSource {
  readonly #used = new Set<string>();
  #n = 0;
  constructor(graph: onnx.IGraphProto) {
    for (const n of graph.node ?? []) {
      for (const x of [...(n.input ?? []), ...(n.output ?? [])]) this.#used.add(x);
    }
    for (
      const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.initializer ?? [])]
    ) this.#used.add(v.name ?? "");
  }
  next(prefix: string): string {
    let name;
    do name = `${prefix}${this.#n++}`; while (this.#used.has(name));
    this.#used.add(name);
    return name;
  }
}

/** Options of {@link applyQdq}. */
export interface QdqOptions {
  perChannel: boolean;
  activationType: ActivationType;
  reduceRange: boolean;
  /** folder of the source model (external data) */
  modelDir: string;
}

/** What the rewrite did, for the report. */
export interface QdqReport {
  /** activation tensors given a Q/DQ pair */
  activations: number;
  /** weights stored as int8 */
  weights: number;
  /** biases stored as int32 */
  int32Biases: number;
  /** biases kept float (int32 would overflow) */
  floatBiases: string[];
}

/**
 * Rewrites the graph in place.
 * @param params scale/zero point of every planned tensor (shared ones resolved)
 */
export function applyQdq(
  model: onnx.IModelProto,
  plan: QuantPlan,
  params: Map<string, QParams>,
  options: QdqOptions,
): QdqReport {
  const graph = model.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  const added: onnx.ITensorProto[] = [];
  const newNodes: onnx.INodeProto[] = [];
  const report: QdqReport = { activations: 0, weights: 0, int32Biases: 0, floatBiases: [] };
  const names = new NameSource(graph);
  const zeroPoints = new Map<number, string>();
  /** The activation zero-point scalar of a value (shared by every tensor with that value). */
  const zeroPoint = (v: number): string => {
    let name = zeroPoints.get(v);
    if (!name) {
      name = names.next("z");
      added.push(
        options.activationType === "uint8"
          ? uint8Tensor(name, [], Uint8Array.of(v))
          : int8Tensor(name, [], Int8Array.of(v)),
      );
      zeroPoints.set(v, name);
    }
    return name;
  };

  // 1. Folded ReLUs: the producer writes the ReLU's output directly.
  for (const [relu, producer] of plan.fusedRelus) {
    producer.output = [relu.output![0], ...(producer.output ?? []).slice(1)];
  }
  graph.node = (graph.node ?? []).filter((n) => !plan.fusedRelus.has(n));

  // 2. Activation Q/DQ pairs; quantised readers read the dequantised copy.
  const dequantized = new Map<string, string>();
  for (const t of plan.tensors) {
    const p = params.get(t);
    if (!p) throw new Error(`no quantisation parameters for tensor ${t}`);
    const [s, z, q, d] = [
      names.next("s"),
      zeroPoint(p.zeroPoint),
      names.next("q"),
      names.next("d"),
    ];
    added.push(float32Tensor(s, [], Float32Array.of(p.scale)));
    newNodes.push(
      { opType: "QuantizeLinear", input: [t, s, z], output: [q] },
      { opType: "DequantizeLinear", input: [q, s, z], output: [d] },
    );
    dequantized.set(t, d);
    report.activations++;
  }

  // 3. Weights and biases of Conv-like nodes.
  const weightCache = new Map<string, { name: string; scales: Float32Array }>();
  for (const node of plan.nodes) {
    if (plan.fusedRelus.has(node)) continue;
    const inputs = [...(node.input ?? [])];
    const x = inputs[0];
    if (node.opType === "Conv" || node.opType === "ConvTranspose") {
      const transposed = node.opType === "ConvTranspose";
      const group = new Attributes(node).int("group", 1);
      const weight = initializers.get(inputs[1])!;
      const dims = dimsOf(weight);
      // Per output channel; a grouped ConvTranspose has no single output-channel axis.
      const axis = !options.perChannel ? null : transposed ? (group === 1 ? 1 : null) : 0;
      const key = `${inputs[1]}|${axis}`;
      let w = weightCache.get(key);
      if (!w) {
        const q = quantizeWeight(
          readFloat32(weight, options.modelDir),
          dims,
          axis,
          options.reduceRange,
        );
        const [iq, s, z, d] = ["w", "ws", "wz", "wd"].map((p) => names.next(p));
        const scaleDims = axis === null ? [] : [q.scales.length];
        added.push(
          int8Tensor(iq, dims, q.values),
          float32Tensor(s, scaleDims, q.scales),
          int8Tensor(z, scaleDims, new Int8Array(q.scales.length)),
        );
        newNodes.push({
          opType: "DequantizeLinear",
          input: [iq, s, z],
          output: [d],
          attribute: axis === null ? [] : [{ name: "axis", type: 2, i: axis }],
        });
        w = { name: d, scales: q.scales };
        weightCache.set(key, w);
        report.weights++;
      }
      inputs[1] = w.name;
      const biasName = inputs[2];
      const xParams = params.get(x);
      if (biasName && xParams) {
        const bias = readFloat32(initializers.get(biasName)!, options.modelDir);
        const cout = outputChannels(dims, transposed, group);
        const qb = bias.length === cout ? quantizeBias(bias, xParams.scale, w.scales) : null;
        if (qb) {
          const [iq, s, z, d] = ["b", "bs", "bz", "bd"].map((p) => names.next(p));
          const scaleDims = qb.scales.length > 1 ? [qb.scales.length] : [];
          added.push(
            int32Tensor(iq, [bias.length], qb.values),
            float32Tensor(s, scaleDims, qb.scales),
            int32Tensor(z, scaleDims, new Int32Array(qb.scales.length)),
          );
          newNodes.push({
            opType: "DequantizeLinear",
            input: [iq, s, z],
            output: [d],
            attribute: qb.scales.length > 1 ? [{ name: "axis", type: 2, i: 0 }] : [],
          });
          inputs[2] = d;
          report.int32Biases++;
        } else {
          report.floatBiases.push(biasName);
        }
      }
    }
    node.input = inputs.map((name) => dequantized.get(name) ?? name);
  }

  graph.node = [...newNodes, ...(graph.node ?? [])];
  graph.initializer = [...(graph.initializer ?? []), ...added];
  graph.node = topologicalOrder(graph);
  pruneInitializers(graph);
  return report;
}
