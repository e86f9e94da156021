/**
 * The direct engine's graph reader: plain U-Nets are taken (ReLUs fused, BatchNormalization
 * folded), anything its kernels do not have is refused with the reason.
 */
import assert from "node:assert/strict";
import { GraphBuilder, unetModel } from "../../../../lib/onnx_builder.ts";
import { directGraph, UnsupportedGraphError } from "../../../../src/engines/direct/graph.ts";

Deno.test("directGraph takes a plain U-Net, with every ReLU fused into its convolution", () => {
  const graph = directGraph(unetModel({ width: 4, depth: 2 }));
  const kinds = graph.ops.map((op) => op.kind);
  assert.ok(!kinds.includes("relu"));
  assert.equal(kinds.filter((k) => k === "conv3").length, 10);
  assert.deepEqual(kinds.filter((k) => k !== "conv3"), [
    "maxpool2",
    "maxpool2",
    "convt2",
    "concat",
    "convt2",
    "concat",
    "conv1",
  ]);
  const convs = graph.ops.filter((op) => op.kind === "conv3");
  assert.ok(convs.every((op) => op.kind === "conv3" && op.relu));
  assert.equal(graph.inputChannels, 3);
});

Deno.test("directGraph folds BatchNormalization into the convolution before it", () => {
  const graph = directGraph(unetModel({ width: 4, depth: 1, batchNorm: true }));
  assert.ok(graph.ops.every((op) => op.kind !== "concat" ? true : op.inputs.length === 2));
  assert.equal(graph.ops.filter((op) => op.kind === "conv3").length, 6);
});

Deno.test("directGraph follows Identity nodes, also in front of weights (PyTorch's shared weights)", () => {
  const g = new GraphBuilder(2);
  const x = g.input("image", [1, 3, "h", "w"]);
  const w = g.randomTensor([2, 3, 3, 3], 27);
  const y = g.node("Conv", [g.node("Identity", [x]), g.node("Identity", [w])], [
    { name: "kernel_shape", type: 7, ints: [3, 3] },
    { name: "pads", type: 7, ints: [1, 1, 1, 1] },
  ]);
  g.output(g.node("Identity", [y]), "logits", [1, 2, "h", "w"]);
  const graph = directGraph(g.build());
  assert.deepEqual(graph.ops.map((op) => op.kind), ["conv3"]);
  assert.equal(graph.outputName, "logits");
});

function refused(build: (g: GraphBuilder, x: string) => string, why: RegExp) {
  const g = new GraphBuilder(1);
  const x = g.input("image", [1, 3, "h", "w"]);
  g.output(build(g, x), "logits", [1, 1, "h", "w"]);
  assert.throws(
    () => directGraph(g.build()),
    (err: Error) => err instanceof UnsupportedGraphError && why.test(err.message),
  );
}

Deno.test("directGraph leaves wide nets to onnxruntime", () => {
  assert.equal(directGraph(unetModel({ width: 8, depth: 3 })).inputChannels, 3); // 8…64
  assert.throws(
    () => directGraph(unetModel({ width: 16, depth: 3 })), // 16…128
    (err: Error) => err instanceof UnsupportedGraphError && /128 channels/.test(err.message),
  );
});

Deno.test("directGraph refuses what its kernels do not have, saying what", () => {
  refused((g, x) => g.conv(x, 3, 1, 3, 2), /stride-1/);
  refused((g, x) => g.conv(x, 3, 1, 5), /3×3\/1×1/);
  refused((g, x) => g.node("Add", [g.conv(x, 3, 1, 1), g.conv(x, 3, 1, 1)]), /no Add/);
  refused((g, x) => g.batchNorm(x, 3), /right after a convolution/);
  // the convolution is read by something else too, through an Identity
  refused((g, x) => {
    const y = g.node("Identity", [g.conv(x, 3, 1, 1)]);
    g.batchNorm(y, 1);
    return g.relu(y);
  }, /right after a convolution/);
  refused((g, x) => {
    const y = g.conv(x, 3, 2);
    const a = g.concat([y, x]);
    return g.conv(g.concat([y, a]), 7, 1, 1);
  }, /concatenated twice/);
});
