/**
 * Look-ups over an ONNX graph that the quantiser needs: who produces and who consumes
 * each tensor, which tensors are initializers or graph outputs, each tensor's element type
 * (from declarations, initializers, and the few op rules below), and a topological order.
 *
 * @module
 */
import { Attributes } from "../../src/onnx/attributes.ts";
import { DataType, type onnx } from "../../src/onnx/proto.ts";

/** Ops whose first output has the element type of their first input. */
const SAME_TYPE_OPS = new Set([
  "Conv",
  "ConvTranspose",
  "Relu",
  "Sigmoid",
  "Tanh",
  "LeakyRelu",
  "Clip",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "GlobalMaxPool",
  "BatchNormalization",
  "Concat",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Identity",
  "Resize",
  "Upsample",
  "Pad",
  "Reshape",
  "Transpose",
  "Slice",
  "Squeeze",
  "Unsqueeze",
  "Flatten",
  "Softmax",
  "Dropout",
  "InstanceNormalization",
  "Neg",
  "Abs",
  "Exp",
  "Sqrt",
  "Pow",
  "HardSigmoid",
  "Elu",
  "Selu",
  "PRelu",
  "Gemm",
  "MatMul",
]);

/** Ops whose output type is fixed. */
const FIXED_TYPE_OPS: Record<string, number> = { Shape: DataType.INT64, Size: DataType.INT64 };

/** An index over one graph; rebuild it after editing the graph. */
export class GraphIndex {
  /** tensor → the node that writes it */
  readonly producer = new Map<string, onnx.INodeProto>();
  /** tensor → nodes that read it */
  readonly consumers = new Map<string, onnx.INodeProto[]>();
  readonly initializers = new Map<string, onnx.ITensorProto>();
  readonly graphInputs = new Set<string>();
  readonly graphOutputs = new Set<string>();
  /** tensor → ONNX element type, where known */
  readonly elemType = new Map<string, number>();

  constructor(readonly graph: onnx.IGraphProto) {
    for (const t of graph.initializer ?? []) {
      this.initializers.set(t.name ?? "", t);
      this.elemType.set(t.name ?? "", t.dataType ?? 0);
    }
    for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) {
      const type = v.type?.tensorType?.elemType;
      if (type) this.elemType.set(v.name ?? "", type);
    }
    for (const v of graph.input ?? []) {
      if (!this.initializers.has(v.name ?? "")) this.graphInputs.add(v.name ?? "");
    }
    for (const v of graph.output ?? []) this.graphOutputs.add(v.name ?? "");
    for (const node of graph.node ?? []) {
      for (const out of node.output ?? []) if (out) this.producer.set(out, node);
      for (const inp of node.input ?? []) {
        if (!inp) continue;
        const list = this.consumers.get(inp) ?? [];
        list.push(node);
        this.consumers.set(inp, list);
      }
    }
    for (const node of topologicalOrder(graph)) this.#inferType(node);
  }

  #inferType(node: onnx.INodeProto): void {
    const op = node.opType ?? "";
    const out = node.output?.[0];
    if (!out || this.elemType.has(out)) return;
    let type: number | undefined;
    if (op in FIXED_TYPE_OPS) type = FIXED_TYPE_OPS[op];
    else if (op === "Cast") {
      type = new Attributes(node).int("to", 0);
    } else if (op === "Constant") {
      type = new Attributes(node).tensor("value")?.dataType ?? undefined;
    } else if (SAME_TYPE_OPS.has(op)) type = this.elemType.get(node.input?.[0] ?? "");
    if (type) this.elemType.set(out, type);
  }

  /** Records tensors found to be float32 (by a probe run) whose type was not declared. */
  markFloat(names: Iterable<string>): void {
    for (const n of names) if (!this.elemType.has(n)) this.elemType.set(n, DataType.FLOAT);
  }

  /** Whether a tensor is known to be float32. */
  isFloat(name: string): boolean {
    return this.elemType.get(name) === DataType.FLOAT;
  }

  /** Whether a tensor is an initializer (a constant weight). */
  isConstant(name: string): boolean {
    return this.initializers.has(name);
  }

  /** The nodes reading a tensor (empty when none). */
  readersOf(name: string): onnx.INodeProto[] {
    return this.consumers.get(name) ?? [];
  }
}

/**
 * The graph's nodes in an order where every node comes after the producers of its inputs.
 * @throws {Error} when the graph has a cycle or reads a tensor nothing provides
 */
export function topologicalOrder(graph: onnx.IGraphProto): onnx.INodeProto[] {
  const available = new Set<string>([
    "",
    ...(graph.input ?? []).map((v) => v.name ?? ""),
    ...(graph.initializer ?? []).map((t) => t.name ?? ""),
  ]);
  const pending = [...(graph.node ?? [])];
  const ordered: onnx.INodeProto[] = [];
  while (pending.length > 0) {
    const before = pending.length;
    for (let i = 0; i < pending.length;) {
      const node = pending[i];
      if ((node.input ?? []).every((x) => available.has(x))) {
        ordered.push(node);
        for (const out of node.output ?? []) available.add(out);
        pending.splice(i, 1);
      } else {
        i++;
      }
    }
    if (pending.length === before) {
      const missing = (pending[0].input ?? []).filter((x) => !available.has(x));
      throw new Error(
        `graph cannot be ordered: node ${pending[0].name || pending[0].opType} reads ${
          missing.join(", ")
        }, which nothing provides`,
      );
    }
  }
  return ordered;
}
