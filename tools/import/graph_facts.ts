/**
 * What an ONNX graph says about how to serve it — input name, channels, fixed or dynamic
 * size, the mask output and whether it is logits or probabilities — and the refusals for
 * what the server cannot run (several inputs, a non-float or non-NCHW input, a
 * multi-channel output…), each with the reason and what to do.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { SUPPORTED_OPS } from "../../src/engines/tfjs/compile.ts";
import { type ExternalFile, readExternalData } from "../../src/onnx/external_data.ts";
import { inspectModel, type ModelInfo, type TensorInfo } from "../../src/onnx/inspect.ts";
import { DataType, decodeModel, type onnx, toNumber } from "../../src/onnx/proto.ts";

/** Thrown when the model cannot be imported; the message says why and what to do. */
export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportError";
  }
}

/** What the graph says, ready for a card. */
export interface GraphFacts {
  /** decoded graph (external tensors still external) */
  model: onnx.IModelProto;
  info: ModelInfo;
  /** its external-data files, as read beside the source */
  external: ExternalFile[];
  inputName: string;
  channels: 1 | 3;
  /** fixed input size, or null for dynamic */
  height: number | null;
  width: number | null;
  /** dynamic models: a multiple of every downsampling in the graph (at least 16) */
  padMultiple: number;
  outputName: string;
  outputKind: "logits" | "probabilities";
  /** why that kind (stated in the card) */
  outputKindReason: string;
  /** operators the tfjs-wasm engine cannot run (the others can) */
  tfjsUnsupported: string[];
}

const TYPE_NAMES: Record<number, string> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  5: "int16",
  6: "int32",
  7: "int64",
  9: "bool",
  10: "float16",
  11: "float64",
  16: "bfloat16",
};

function typeName(code: number): string {
  return TYPE_NAMES[code] ?? `type ${code}`;
}

function shape(t: TensorInfo): string {
  return `[${t.dims.map((d) => d ?? "?").join(", ")}]`;
}

/** The op that produces `value`, looking through Identity nodes. */
function producer(graph: onnx.IGraphProto, value: string): onnx.INodeProto | undefined {
  const byOutput = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) byOutput.set(o, n);
  let node = byOutput.get(value);
  for (let i = 0; node?.opType === "Identity" && i < 16; i++) node = byOutput.get(node.input![0]);
  return node;
}

const PROBABILITY_OPS = new Set(["Sigmoid", "HardSigmoid", "Softmax"]);

function downsamplings(graph: onnx.IGraphProto): number {
  let count = 0;
  for (const n of graph.node ?? []) {
    if (!["MaxPool", "AveragePool", "Conv"].includes(n.opType ?? "")) continue;
    const strides = n.attribute?.find((a) => a.name === "strides")?.ints?.map((v) => toNumber(v));
    if (strides?.some((s) => s > 1)) count++;
  }
  return count;
}

/**
 * Reads a model for import and works out its card fields.
 * @param path the `.onnx` file (its external data beside it, under the stored name or
 *   `<file>.data`)
 * @param options `channels` when the graph leaves them dynamic; `output` when it has several
 * @throws {ImportError} for anything the server could not run, with the reason
 */
export async function readGraphFacts(
  path: string,
  options: { channels?: 1 | 3; output?: string } = {},
): Promise<GraphFacts> {
  const bytes = await Deno.readFile(path).catch((err) => {
    throw new ImportError(`cannot read ${path}: ${err.message}`);
  });
  let model: onnx.IModelProto, info: ModelInfo;
  try {
    model = decodeModel(bytes);
    info = inspectModel(bytes);
  } catch (err) {
    throw new ImportError(`${path}: ${(err as Error).message}`);
  }
  let external: ExternalFile[];
  try {
    external = (await readExternalData(dirname(path), basename(path), info.externalData)).files;
  } catch (err) {
    throw new ImportError((err as Error).message);
  }
  const refuse = (why: string) => {
    throw new ImportError(`${path} cannot be served: ${why}`);
  };
  if (info.opset < 13) {
    refuse(`opset ${info.opset}; the server needs opset 13 or later (re-export)`);
  }
  if (info.inputs.length !== 1) {
    refuse(
      `the graph has ${info.inputs.length} inputs (${
        info.inputs.map((i) => `"${i.name}"`).join(", ")
      }); the server feeds exactly one image tensor. Export a graph with a single NCHW float input`,
    );
  }
  const input = info.inputs[0];
  if (input.elemType !== DataType.FLOAT) {
    refuse(
      `input "${input.name}" is ${
        typeName(input.elemType)
      }; the server feeds float32 (re-export with a float32 input)`,
    );
  }
  if (input.dims.length !== 4) {
    refuse(`input "${input.name}" has shape ${shape(input)}; the server feeds NCHW (rank 4)`);
  }
  const [n, c, h, w] = input.dims;
  if (typeof n === "number" && n !== 1) {
    refuse(`input "${input.name}" has a fixed batch of ${n}; the server runs one image at a time`);
  }
  let channels: 1 | 3;
  if (typeof c === "number") {
    if (c !== 1 && c !== 3) {
      refuse(`input "${input.name}" has ${c} channels; the server feeds 1 (grey) or 3 (RGB)`);
    }
    if (options.channels !== undefined && options.channels !== c) {
      refuse(`--channels ${options.channels} but the graph's input has ${c}`);
    }
    channels = c as 1 | 3;
  } else if (options.channels) {
    channels = options.channels;
  } else {
    throw new ImportError(
      `${path}: input "${input.name}" leaves its channels dynamic (${
        shape(input)
      }); say --channels 1 or 3`,
    );
  }
  const fixedH = typeof h === "number", fixedW = typeof w === "number";
  if (fixedH !== fixedW) {
    refuse(
      `input "${input.name}" has shape ${
        shape(input)
      }: height and width must both be fixed or both dynamic`,
    );
  }
  let output: TensorInfo | undefined;
  if (options.output) {
    output = info.outputs.find((o) => o.name === options.output);
    if (!output) {
      refuse(
        `no output named "${options.output}" (has ${info.outputs.map((o) => o.name).join(", ")})`,
      );
    }
  } else if (info.outputs.length === 1) {
    output = info.outputs[0];
  } else {
    refuse(
      `the graph has ${info.outputs.length} outputs (${
        info.outputs.map((o) => `"${o.name}"`).join(", ")
      }); say which is the mask with --output`,
    );
  }
  const out = output!;
  if (out.elemType !== DataType.FLOAT) {
    refuse(`output "${out.name}" is ${typeName(out.elemType)}; the server reads float32`);
  }
  if (out.dims.length !== 0 && out.dims.length !== 4) {
    refuse(`output "${out.name}" has shape ${shape(out)}; the server reads [1, 1, H, W]`);
  }
  if (typeof out.dims[1] === "number" && out.dims[1] !== 1) {
    refuse(
      `output "${out.name}" has ${out.dims[1]} channels; the server reads one foreground channel ` +
        `(for a two-class softmax export the foreground channel only, or the logit difference)`,
    );
  }
  const last = producer(model.graph!, out.name);
  const probabilities = last !== undefined && PROBABILITY_OPS.has(last.opType ?? "");
  const supported = new Set(SUPPORTED_OPS);
  return {
    model,
    info,
    external,
    inputName: input.name,
    channels,
    height: fixedH ? h as number : null,
    width: fixedW ? w as number : null,
    padMultiple: Math.min(256, Math.max(16, 2 ** downsamplings(model.graph!))),
    outputName: out.name,
    outputKind: probabilities ? "probabilities" : "logits",
    outputKindReason: probabilities
      ? `the graph ends in ${last!.opType}`
      : `the graph ends in ${last?.opType ?? "an input"}, not Sigmoid/Softmax`,
    tfjsUnsupported: info.ops.filter((op) => !supported.has(op)),
  };
}
