/**
 * A small ONNX graph builder: enough to write U-Net-shaped models with seeded random
 * weights in code (test fixtures, and the benchmark's nets where PyTorch is missing) without
 * Python. Real models come from `tools/distill` (PyTorch export).
 *
 * @example
 * ```ts
 * const g = new GraphBuilder(42);
 * const x = g.input("image", [1, 3, "H", "W"]);
 * g.output(g.conv(x, 3, 1, 3), "logits", [1, 1, "H", "W"]);
 * const bytes = g.build();
 * ```
 * @module
 */
import { DataType, encodeModel, type onnx } from "../src/onnx/proto.ts";

/** A dimension: a fixed size or a symbolic (dynamic) name. */
export type Dim = number | string;

/** Deterministic pseudo-random numbers (mulberry32), so fixtures are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function valueInfo(name: string, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

function intsAttr(name: string, ints: number[]): onnx.IAttributeProto {
  return { name, type: 7, ints };
}
function intAttr(name: string, i: number): onnx.IAttributeProto {
  return { name, type: 2, i };
}
function floatAttr(name: string, f: number): onnx.IAttributeProto {
  return { name, type: 1, f };
}

/** Builds a single-graph ONNX model node by node. */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  #counter = 0;
  #random: () => number;

  /** @param seed seed for the random weights */
  constructor(seed = 1) {
    this.#random = seededRandom(seed);
  }

  #name(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  /** Declares a float32 graph input. */
  input(name: string, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  /** Declares a float32 graph output, renaming `value` to `name` with an Identity. */
  output(value: string, name: string, dims: Dim[]): string {
    this.nodes.push({
      opType: "Identity",
      input: [value],
      output: [name],
      name: this.#name("out"),
    });
    this.outputs.push(valueInfo(name, dims));
    return name;
  }

  /** Adds a float32 initializer with the given values. */
  constant(values: Float32Array, dims: number[], prefix = "w"): string {
    const name = this.#name(prefix);
    this.initializers.push({
      name,
      dims,
      dataType: DataType.FLOAT,
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
    return name;
  }

  /** Adds a random (He-uniform scaled) initializer. */
  randomTensor(dims: number[], fanIn: number, prefix = "w"): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const bound = Math.sqrt(6 / fanIn);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = (this.#random() * 2 - 1) * bound;
    return this.constant(values, dims, prefix);
  }

  /** Adds any node; returns its single output's name. */
  node(opType: string, inputs: string[], attribute: onnx.IAttributeProto[] = []): string {
    const out = this.#name(opType.toLowerCase());
    this.nodes.push({ opType, input: inputs, output: [out], attribute, name: this.#name("n") });
    return out;
  }

  /** k×k convolution, "same" padding, with bias. */
  conv(x: string, cin: number, cout: number, k = 3, stride = 1): string {
    const w = this.randomTensor([cout, cin, k, k], cin * k * k);
    const b = this.randomTensor([cout], cin * k * k * 100, "b");
    const p = Math.floor(k / 2);
    return this.node("Conv", [x, w, b], [
      intsAttr("kernel_shape", [k, k]),
      intsAttr("pads", [p, p, p, p]),
      intsAttr("strides", [stride, stride]),
    ]);
  }

  /** BatchNormalization with random affine parameters and running statistics. */
  batchNorm(x: string, channels: number): string {
    const ones = (v: number) => new Float32Array(channels).fill(v);
    const scale = this.constant(ones(1), [channels], "bn_s");
    const bias = this.randomTensor([channels], 100, "bn_b");
    const mean = this.randomTensor([channels], 100, "bn_m");
    const variance = this.constant(ones(1.5), [channels], "bn_v");
    return this.node("BatchNormalization", [x, scale, bias, mean, variance], [
      floatAttr("epsilon", 1e-5),
    ]);
  }

  /** Rectified linear unit. */
  relu(x: string): string {
    return this.node("Relu", [x]);
  }

  /** 2×2 max pooling, stride 2. */
  maxPool(x: string): string {
    return this.node("MaxPool", [x], [
      intsAttr("kernel_shape", [2, 2]),
      intsAttr("strides", [2, 2]),
    ]);
  }

  /** 2×2 transposed convolution, stride 2 (doubles H and W). */
  upConv(x: string, cin: number, cout: number): string {
    const w = this.randomTensor([cin, cout, 2, 2], cin * 4);
    const b = this.randomTensor([cout], cin * 400, "b");
    return this.node("ConvTranspose", [x, w, b], [
      intsAttr("kernel_shape", [2, 2]),
      intsAttr("strides", [2, 2]),
    ]);
  }

  /** Channel concatenation (axis 1). */
  concat(values: string[]): string {
    return this.node("Concat", values, [intAttr("axis", 1)]);
  }

  /** Serialises the graph as an opset-17 model. */
  build(opset = 17): Uint8Array {
    return encodeModel({
      irVersion: 8,
      producerName: "tinyunet-edge/lib/onnx_builder.ts",
      opsetImport: [{ domain: "", version: opset }],
      graph: {
        name: "graph",
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }
}

/** Options of {@link unetModel}. */
export interface UnetModelOptions {
  /** base width (channels of the first block); TinyUnet is 4, the teacher 64 */
  width?: number;
  /** input channels (1 grey, 3 RGB) */
  channels?: number;
  /** number of down-sampling steps */
  depth?: number;
  /** fixed input size; omitted = dynamic H/W */
  fixedSize?: [number, number];
  /** weight seed */
  seed?: number;
  /** add BatchNormalization after each conv */
  batchNorm?: boolean;
}

/**
 * A plain U-Net (double 3×3 conv blocks, max-pool down, transposed-conv up, skip
 * concatenation, 1×1 head to one logit channel) with seeded random weights.
 * Widths double per level and cap at 8× the base width, like the paper's 64-…-512-512.
 */
export function unetModel(options: UnetModelOptions = {}): Uint8Array {
  const { width = 4, channels = 3, depth = 4, seed = 7, batchNorm = false } = options;
  const g = new GraphBuilder(seed);
  const [h, w]: Dim[] = options.fixedSize ?? ["height", "width"];
  const x = g.input("image", [1, channels, h, w]);
  const block = (v: string, cin: number, cout: number) => {
    let y = g.conv(v, cin, cout);
    if (batchNorm) y = g.batchNorm(y, cout);
    y = g.relu(y);
    y = g.conv(y, cout, cout);
    if (batchNorm) y = g.batchNorm(y, cout);
    return g.relu(y);
  };
  const widths = Array.from({ length: depth + 1 }, (_, i) => width * Math.min(2 ** i, 8));
  const skips: string[] = [];
  let v = block(x, channels, widths[0]);
  for (let i = 1; i <= depth; i++) {
    skips.push(v);
    v = block(g.maxPool(v), widths[i - 1], widths[i]);
  }
  for (let i = depth - 1; i >= 0; i--) {
    const up = g.upConv(v, widths[i + 1], widths[i]);
    v = block(g.concat([up, skips[i]]), widths[i] * 2, widths[i]);
  }
  g.output(g.conv(v, widths[0], 1, 1), "logits", [1, 1, h, w]);
  return g.build();
}
