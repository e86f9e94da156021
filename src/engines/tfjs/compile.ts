/**
 * ONNX graph → a list of tfjs steps over NHWC activations, built once at load.
 *
 * Constants (initializers, Constant nodes, and ops whose inputs are all constant, e.g.
 * DequantizeLinear of int8 weights) are folded here; every runtime op is checked against
 * the supported set and its attributes, so an unsupported model fails at load with the
 * operator's name instead of computing something else. A Conv followed by (only) a
 * BatchNormalization and/or Relu, LeakyRelu or Sigmoid becomes one fused tfjs convolution.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import { decodeModel, type onnx, toNumber } from "../../onnx/proto.ts";
import { describeNode } from "../../onnx/attributes.ts";
import { Attributes, UnsupportedOnnxError } from "./attributes.ts";
import type { Tf } from "./backend.ts";
import { CONV_OPS } from "./ops_conv.ts";
import { batchNormAffine, ELEMENTWISE_OPS } from "./ops_elementwise.ts";
import { POOL_OPS } from "./ops_pool.ts";
import { QUANT_OPS } from "./ops_quant.ts";
import { RESIZE_OPS } from "./ops_resize.ts";
import type { ActFn, Activation, Fusion, OpBuilder, OpContext, Value } from "./op_context.ts";
import {
  type ConstTensor,
  type ExternalData,
  readTensor,
  UnsupportedElementTypeError,
} from "../../onnx/tensor_data.ts";

/** Every operator the engine runs, by ONNX op type. */
export const OPS: Readonly<Record<string, OpBuilder>> = {
  ...CONV_OPS,
  ...ELEMENTWISE_OPS,
  ...POOL_OPS,
  ...RESIZE_OPS,
  ...QUANT_OPS,
};

/** Supported op types (Constant included), sorted, for messages and docs. */
export const SUPPORTED_OPS: readonly string[] = [...Object.keys(OPS), "Constant"].sort();

/** One runtime step: named NHWC activations in, one out. */
export interface Step {
  node: string;
  inputs: string[];
  output: string;
  run: ActFn;
}

/** A declared graph input. */
export interface ProgramInput {
  name: string;
  /** declared dims (NCHW); null where dynamic */
  dims: (number | null)[];
}

/** A compiled model: steps in order, and the weights they hold. */
export interface Program {
  inputs: ProgramInput[];
  outputs: string[];
  steps: Step[];
  /** for each activation, the index of the last step that reads it (graph outputs: never freed) */
  lastUse: Map<string, number>;
  /** uploaded weights, to dispose with the session */
  weights: Tensor[];
}

function declaredDims(v: onnx.IValueInfoProto): (number | null)[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((
    d,
  ) => (d.dimValue !== null && d.dimValue !== undefined && toNumber(d.dimValue) > 0
    ? toNumber(d.dimValue)
    : null)
  );
}

/** A tensor's values; an element type the engine cannot hold is an unsupported model. */
function constant(t: onnx.ITensorProto, external: ExternalData): ConstTensor {
  try {
    return readTensor(t, external);
  } catch (err) {
    if (err instanceof UnsupportedElementTypeError) throw new UnsupportedOnnxError(err.message);
    throw err;
  }
}

function constantNode(node: onnx.INodeProto, external: ExternalData): Value {
  const attrs = new Attributes(node);
  attrs.only(["value", "value_float", "value_floats", "value_int", "value_ints"]);
  const t = attrs.tensor("value");
  if (t) return { kind: "const", tensor: constant(t, external) };
  if (attrs.has("value_float")) {
    return {
      kind: "const",
      tensor: { data: Float32Array.of(attrs.float("value_float", 0)), dims: [], dataType: 1 },
    };
  }
  if (attrs.has("value_floats")) {
    const v = attrs.floats("value_floats", []);
    return { kind: "const", tensor: { data: Float32Array.from(v), dims: [v.length], dataType: 1 } };
  }
  if (attrs.has("value_int")) {
    return {
      kind: "const",
      tensor: { data: Float32Array.of(attrs.int("value_int", 0)), dims: [], dataType: 7 },
    };
  }
  if (attrs.has("value_ints")) {
    const v = attrs.ints("value_ints", []);
    return { kind: "const", tensor: { data: Float32Array.from(v), dims: [v.length], dataType: 7 } };
  }
  return attrs.unsupported("Constant without a value");
}

const FUSABLE_ACTIVATIONS = ["Relu", "LeakyRelu", "Sigmoid"];

/**
 * Compiles ONNX bytes for tfjs.
 * @param tf the started tfjs runtime (weights are uploaded to it)
 * @param bytes the `.onnx` file
 * @param external external-data files by location
 * @returns the program; its `weights` must be disposed by the caller
 * @throws {UnsupportedOnnxError} naming the first unsupported operator, attribute or layout
 * @throws {Error} when the bytes are not an ONNX model or data are missing
 */
export function compileModel(tf: Tf, bytes: Uint8Array, external: ExternalData): Program {
  const weights: Tensor[] = [];
  try {
    return compileInto(tf, bytes, external, weights);
  } catch (err) {
    for (const w of weights) w.dispose(); // a failed load keeps nothing on the shared backend
    throw err;
  }
}

function compileInto(
  tf: Tf,
  bytes: Uint8Array,
  external: ExternalData,
  weights: Tensor[],
): Program {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const opset = toNumber(
    (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx")?.version,
  );
  const values = new Map<string, Value>();
  for (const t of graph.initializer ?? []) {
    values.set(t.name ?? "", { kind: "const", tensor: constant(t, external) });
  }
  const inputs: ProgramInput[] = [];
  for (const v of graph.input ?? []) {
    const name = v.name ?? "";
    if (values.has(name)) continue; // an initializer listed as an input (IR < 4)
    const elemType = v.type?.tensorType?.elemType ?? 1;
    if (elemType !== 1) throw new UnsupportedOnnxError(`input "${name}" is not float32`);
    const dims = declaredDims(v) ?? [null, null, null, null];
    if (dims.length !== 4) {
      throw new UnsupportedOnnxError(
        `input "${name}" has rank ${dims.length} (only NCHW images, rank 4)`,
      );
    }
    inputs.push({ name, dims });
    values.set(name, { kind: "act" });
  }
  const nodes = graph.node ?? [];
  const outputNames = (graph.output ?? []).map((o) => o.name ?? "");
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) =>
    (n.input ?? []).forEach((name) =>
      name && consumers.set(name, [...(consumers.get(name) ?? []), i])
    )
  );
  const soleConsumer = (name: string): number | undefined => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 && !outputNames.includes(name) ? c[0] : undefined;
  };

  const steps: Step[] = [];
  const absorbed = new Set<number>();
  /** channel Concats left to their Conv reader: output name → part names */
  const deferred = new Map<string, string[]>();
  /** A builder context; `pending` names an activation about to be produced (for fusion). */
  const contextFor = (node: onnx.INodeProto, pending?: string): OpContext => ({
    tf,
    node,
    attrs: new Attributes(node),
    opset,
    inputs: (node.input ?? []).map((name): Value | undefined => {
      if (!name) return undefined;
      if (name === pending) return { kind: "act" };
      const v = values.get(name);
      if (!v) {
        throw new Error(
          `${
            describeNode(node)
          } reads "${name}" before it is produced (graph not in topological order?)`,
        );
      }
      return v;
    }),
    fusion: {},
    keep: (t) => (weights.push(t), t),
  });

  for (let i = 0; i < nodes.length; i++) {
    if (absorbed.has(i)) continue;
    const node = nodes[i];
    if (node.domain && node.domain !== "ai.onnx") {
      throw new UnsupportedOnnxError(`operator ${node.domain}.${node.opType} is not supported`);
    }
    const outputs = node.output ?? [];
    for (const extra of outputs.slice(1)) {
      if (extra && (consumers.has(extra) || outputNames.includes(extra))) {
        throw new UnsupportedOnnxError(
          `${
            describeNode(node)
          }: its output "${extra}" is used, only the first output is supported`,
        );
      }
    }
    if (node.opType === "Constant") {
      values.set(outputs[0], constantNode(node, external));
      continue;
    }
    const build = OPS[node.opType ?? ""];
    if (!build) {
      throw new UnsupportedOnnxError(
        `operator ${node.opType} (node "${node.name ?? ""}") is not supported; supported: ${
          SUPPORTED_OPS.join(", ")
        }`,
      );
    }
    if (node.opType === "Concat" && deferConcat(node)) {
      values.set(outputs[0], { kind: "act" });
      continue;
    }
    const ctx = contextFor(node);
    let outName = outputs[0];
    const parts = node.opType === "Conv" ? deferred.get(node.input?.[0] ?? "") : undefined;
    if (parts) ctx.fusion.concatParts = parts.length;
    if (node.opType === "Conv" && ctx.inputs[0]?.kind === "act") {
      outName = fuseFollowers(outName, ctx.fusion);
    }
    const result = build(ctx);
    ctx.inputs = []; // let folded constants be collected
    if (result.kind === "const") {
      values.set(outName, result);
      continue;
    }
    const actInputs = result.inputs.flatMap((
      k,
    ) => (k === 0 && parts ? parts : [(node.input ?? [])[k]]));
    steps.push({ node: describeNode(node), inputs: actInputs, output: outName, run: result.run });
    values.set(outName, { kind: "act" });
  }

  /**
   * Leaves a channel Concat of activations unmaterialised when its only reader is a plain
   * Conv (group 1) that takes it as input, which then reads the parts (see Fusion.concatParts).
   */
  function deferConcat(node: onnx.INodeProto): boolean {
    const attrs = new Attributes(node);
    const axis = attrs.int("axis", 0);
    if (attrs.has("axis") === false || (axis !== 1 && axis !== -3)) return false;
    const inputs = node.input ?? [];
    if (inputs.length < 2 || inputs.some((name) => values.get(name)?.kind !== "act")) return false;
    const reader = soleConsumer(node.output![0]);
    if (reader === undefined) return false;
    const conv = nodes[reader];
    if (conv.opType !== "Conv" || conv.input?.[0] !== node.output![0]) return false;
    if (new Attributes(conv).int("group", 1) !== 1) return false;
    attrs.only(["axis"]);
    deferred.set(node.output![0], [...inputs]);
    return true;
  }

  /** Folds a sole-consumer BatchNormalization and then activation into a Conv. */
  function fuseFollowers(out: string, fusion: Fusion): string {
    let next = soleConsumer(out);
    if (
      next !== undefined && nodes[next].opType === "BatchNormalization" &&
      nodes[next].input?.[0] === out
    ) {
      const bn = contextFor(nodes[next], out);
      if (bn.inputs.slice(1, 5).every((v) => v?.kind === "const")) {
        fusion.affine = batchNormAffine(bn);
        absorbed.add(next);
        out = nodes[next].output![0];
        next = soleConsumer(out);
      }
    }
    if (next !== undefined && FUSABLE_ACTIVATIONS.includes(nodes[next].opType ?? "")) {
      const attrs = new Attributes(nodes[next]);
      attrs.only(nodes[next].opType === "LeakyRelu" ? ["alpha"] : []);
      const activation: Activation = nodes[next].opType === "Relu"
        ? { kind: "relu" }
        : nodes[next].opType === "Sigmoid"
        ? { kind: "sigmoid" }
        : { kind: "leakyrelu", alpha: attrs.float("alpha", 0.01) };
      fusion.activation = activation;
      absorbed.add(next);
      out = nodes[next].output![0];
    }
    return out;
  }

  for (const name of outputNames) {
    const v = values.get(name);
    if (!v) throw new Error(`graph output "${name}" is never produced`);
    if (v.kind !== "act") throw new UnsupportedOnnxError(`graph output "${name}" is a constant`);
  }
  const lastUse = new Map<string, number>();
  steps.forEach((s, k) => s.inputs.forEach((name) => lastUse.set(name, k)));
  for (const name of outputNames) lastUse.delete(name);
  return { inputs, outputs: outputNames, steps, lastUse, weights };
}
