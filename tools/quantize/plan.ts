/**
 * Decides what gets quantised: which nodes run on dequantised (int8) inputs, which
 * tensors get a QuantizeLinear/DequantizeLinear pair, which ReLUs fold into the
 * quantisation of their producer, which outputs reuse their input's parameters, and what
 * stays float (with the reason, for the report).
 *
 * @module
 */
import { Attributes } from "../../src/onnx/attributes.ts";
import type { onnx } from "../../src/onnx/proto.ts";
import { dimsOf } from "../../src/onnx/tensor_data.ts";
import type { GraphIndex } from "./graph_index.ts";

/** How an op is quantised. */
interface OpRule {
  /** input positions that are activations (quantised per tensor) */
  activations: "first" | "all";
  /** Conv-like: input 1 is a weight initializer, input 2 an optional bias initializer */
  weighted?: boolean;
  /** the output reuses its input's scale and zero point (order-preserving ops) */
  sharesInputParams?: boolean;
}

/** Ops the quantiser knows. */
export const OP_RULES: Record<string, OpRule> = {
  Conv: { activations: "first", weighted: true },
  ConvTranspose: { activations: "first", weighted: true },
  Concat: { activations: "all" },
  Add: { activations: "all" },
  Mul: { activations: "all" },
  MaxPool: { activations: "first", sharesInputParams: true },
  AveragePool: { activations: "first" },
  GlobalAveragePool: { activations: "first" },
  Relu: { activations: "first" },
  Sigmoid: { activations: "first" },
};

/** Ops whose output a following ReLU may be folded into (the ReLU becomes the clamp at 0). */
const RELU_PRODUCERS = new Set(["Conv", "ConvTranspose", "Add"]);

/** A node left float, and why. */
export interface SkippedNode {
  op: string;
  node: string;
  reason: string;
}

/** The quantisation plan of a graph. */
export interface QuantPlan {
  /** nodes whose activation inputs (and weights) are fed dequantised */
  nodes: Set<onnx.INodeProto>;
  /** tensors that get a Q/DQ pair (stats needed for each, except shared ones) */
  tensors: string[];
  /** tensor → the tensor whose scale/zero point it reuses (MaxPool outputs) */
  shared: Map<string, string>;
  /** ReLU nodes removed, by the producer whose output takes the ReLU's output name */
  fusedRelus: Map<onnx.INodeProto, onnx.INodeProto>;
  skipped: SkippedNode[];
}

function nodeLabel(n: onnx.INodeProto): string {
  return n.name || n.output?.[0] || n.opType || "?";
}

/** Activation inputs of a node under its rule. */
export function activationInputs(node: onnx.INodeProto, rule: OpRule): string[] {
  const inputs = (node.input ?? []).filter(Boolean);
  return rule.activations === "first" ? inputs.slice(0, 1) : inputs;
}

/** Options of {@link planQuantization}. */
export interface PlanOptions {
  /** Conv/ConvTranspose with fewer output channels stay fp32 (int8 kernels lose there) */
  minChannels?: number;
}

function outputChannelCount(node: onnx.INodeProto, index: GraphIndex): number {
  const w = index.initializers.get(node.input?.[1] ?? "");
  const dims = w ? dimsOf(w) : [];
  const group = new Attributes(node).int("group", 1);
  return node.opType === "ConvTranspose" ? (dims[1] ?? 0) * group : dims[0] ?? 0;
}

function whyNot(node: onnx.INodeProto, index: GraphIndex, options: PlanOptions): string | null {
  const op = node.opType ?? "";
  const rule = OP_RULES[op];
  if (!rule) return `no quantised form of ${op} here`;
  if (node.domain && node.domain !== "ai.onnx") return `op from domain ${node.domain}`;
  for (const x of activationInputs(node, rule)) {
    if (index.isConstant(x)) return `constant operand ${x}`;
    if (!index.isFloat(x)) return `input ${x} is not known to be float32`;
  }
  if (rule.weighted) {
    const [, w, b] = node.input ?? [];
    if (!w || !index.isConstant(w) || !index.isFloat(w)) {
      return "weight is not a float32 initializer";
    }
    if (b && (!index.isConstant(b) || !index.isFloat(b))) {
      return "bias is not a float32 initializer";
    }
    const channels = outputChannelCount(node, index);
    if (options.minChannels && channels < options.minChannels) {
      return `${channels} output channels, below --min-channels ${options.minChannels}`;
    }
  }
  return null;
}

/**
 * Plans the quantisation of a graph (BatchNormalization already folded).
 * @param graph the float graph
 * @param index an index over it
 * @param options layer selection
 */
export function planQuantization(
  graph: onnx.IGraphProto,
  index: GraphIndex,
  options: PlanOptions = {},
): QuantPlan {
  const nodes = new Set<onnx.INodeProto>();
  const skipped: SkippedNode[] = [];
  for (const node of graph.node ?? []) {
    const reason = whyNot(node, index, options);
    if (reason) skipped.push({ op: node.opType ?? "", node: nodeLabel(node), reason });
    else nodes.add(node);
  }
  const allReadersQuantized = (t: string) =>
    !index.graphOutputs.has(t) && index.readersOf(t).length > 0 &&
    index.readersOf(t).every((r) => nodes.has(r));

  const fusedRelus = new Map<onnx.INodeProto, onnx.INodeProto>();
  for (const relu of nodes) {
    if (relu.opType !== "Relu") continue;
    const x = relu.input![0];
    const producer = index.producer.get(x);
    if (!producer || !nodes.has(producer) || !RELU_PRODUCERS.has(producer.opType ?? "")) continue;
    if (index.readersOf(x).length !== 1 || index.graphOutputs.has(x)) continue;
    if (!allReadersQuantized(relu.output![0])) continue;
    fusedRelus.set(relu, producer);
  }

  const tensors: string[] = [];
  const seen = new Set<string>();
  for (const node of nodes) {
    if (fusedRelus.has(node)) continue; // its input disappears; its output is quantised by its readers
    for (const x of activationInputs(node, OP_RULES[node.opType!])) {
      if (!seen.has(x)) {
        seen.add(x);
        tensors.push(x);
      }
    }
  }
  const shared = new Map<string, string>();
  for (const node of nodes) {
    if (!OP_RULES[node.opType!].sharesInputParams) continue;
    const out = node.output?.[0];
    if (out && seen.has(out) && (node.output?.filter(Boolean).length ?? 0) === 1) {
      shared.set(out, node.input![0]);
    }
  }
  return { nodes, tensors, shared, fusedRelus, skipped };
}
