import assert from "node:assert/strict";
import type { onnx } from "../../../src/onnx/proto.ts";
import { receptiveField } from "../../../src/onnx/receptive_field.ts";
import { inspectModel } from "../../../src/onnx/inspect.ts";
import { shippedModelUrl } from "../../../lib/shipped_models.ts";

const ints = (name: string, values: number[]): onnx.IAttributeProto => ({
  name,
  ints: values,
  type: 7,
});
const weight = (name: string, dims: number[]): onnx.ITensorProto => ({ name, dims, dataType: 1 });

/** A graph with one NCHW input `x` and the given nodes, weights and output. */
function graph(
  nodes: onnx.INodeProto[],
  weights: onnx.ITensorProto[],
  output: string,
): onnx.IModelProto {
  const dims = [{ dimValue: 1 }, { dimValue: 1 }, { dimParam: "h" }, { dimParam: "w" }];
  return {
    graph: {
      input: [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: dims } } } }],
      initializer: weights,
      node: nodes,
      output: [{ name: output }],
    },
  };
}

const conv3 = (input: string, output: string, w: string): onnx.INodeProto => ({
  opType: "Conv",
  input: [input, w],
  output: [output],
  attribute: [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1])],
});

Deno.test("receptive field: one 3×3 conv sees one pixel each side", () => {
  const m = graph(
    [conv3("x", "c", "w"), { opType: "Relu", input: ["c"], output: ["y"] }],
    [weight("w", [1, 1, 3, 3])],
    "y",
  );
  assert.deepEqual(receptiveField(m), { radius: 1, align: 1 });
});

Deno.test("receptive field: a two-level U-Net, worked by hand", () => {
  // conv [-1,1] → pool 2/2 [-1,2] step 2 → conv [-3,4] → convT 2/2 [-4,4] step 1
  // → concat with the first conv [-4,4] → conv [-5,5]
  const m = graph([
    conv3("x", "c1", "w1"),
    {
      opType: "MaxPool",
      input: ["c1"],
      output: ["p"],
      attribute: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])],
    },
    conv3("p", "c2", "w2"),
    {
      opType: "ConvTranspose",
      input: ["c2", "wt"],
      output: ["u"],
      attribute: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])],
    },
    {
      opType: "Concat",
      input: ["u", "c1"],
      output: ["cat"],
      attribute: [{ name: "axis", i: 1, type: 2 }],
    },
    conv3("cat", "y", "w3"),
  ], [
    weight("w1", [1, 1, 3, 3]),
    weight("w2", [1, 1, 3, 3]),
    weight("wt", [1, 1, 2, 2]),
    weight("w3", [1, 2, 3, 3]),
  ], "y");
  assert.deepEqual(receptiveField(m), { radius: 5, align: 2 });
});

Deno.test("receptive field: kernel size from the weight when kernel_shape is absent; dilation counts", () => {
  const m = graph(
    [{
      opType: "Conv",
      input: ["x", "w"],
      output: ["y"],
      attribute: [ints("pads", [2, 2, 2, 2]), ints("dilations", [2, 2])],
    }],
    [weight("w", [1, 1, 3, 3])],
    "y",
  );
  assert.deepEqual(receptiveField(m), { radius: 2, align: 1 });
});

Deno.test("receptive field: null for graphs that cannot be tiled", () => {
  const w = [weight("w", [1, 1, 3, 3])];
  const global = graph([{ opType: "GlobalAveragePool", input: ["x"], output: ["y"] }], [], "y");
  const resize = graph(
    [conv3("x", "c", "w"), { opType: "Resize", input: ["c", "", "s"], output: ["y"] }],
    w,
    "y",
  );
  const halfRes = graph(
    [conv3("x", "c", "w"), {
      opType: "MaxPool",
      input: ["c"],
      output: ["y"],
      attribute: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])],
    }],
    w,
    "y",
  );
  const samePad = graph(
    [{
      opType: "Conv",
      input: ["x", "w"],
      output: ["y"],
      attribute: [ints("kernel_shape", [3, 3]), {
        name: "auto_pad",
        s: new TextEncoder().encode("SAME_UPPER"),
        type: 3,
      }],
    }],
    w,
    "y",
  );
  for (const m of [global, resize, halfRes, samePad]) assert.equal(receptiveField(m), null);
});

Deno.test("receptive field of the shipped students (fp32 and int8 QDQ graphs): 107 px, step 16", () => {
  for (const file of ["model.onnx", "model.int8.onnx"]) {
    const bytes = Deno.readFileSync(new URL(file, shippedModelUrl("isic2017")));
    assert.deepEqual(inspectModel(bytes).receptiveField, { radius: 107, align: 16 }, file);
  }
});
