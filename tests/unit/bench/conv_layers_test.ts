import assert from "node:assert/strict";
import { sumTrace } from "../../../bench/conv_layers.ts";

Deno.test("conv_layers: a trace sums per node and run; MACs from the weights as run (transposed: input pixels)", () => {
  const conv = {
    cat: "Node",
    name: "c_nchwc_kernel_time",
    dur: 300,
    args: {
      op_name: "Conv",
      input_type_shape: [{ float: [1, 4, 8, 8] }, { float: [16, 4, 3, 3] }],
      output_type_shape: [{ float: [1, 16, 8, 8] }],
    },
  };
  const up = {
    cat: "Node",
    name: "u_kernel_time",
    dur: 30,
    args: {
      op_name: "ConvTranspose",
      input_type_shape: [{ float: [1, 8, 4, 4] }, { float: [8, 4, 2, 2] }],
      output_type_shape: [{ float: [1, 4, 8, 8] }],
    },
  };
  const nodes = sumTrace([conv, conv, conv, up, up, { cat: "Session", name: "x", dur: 9 }], 3);
  const c = nodes.find((n) => n.node === "c_nchwc")!;
  assert.equal(c.us, 300);
  assert.equal(c.macs, 16 * 4 * 9 * 64);
  const u = nodes.find((n) => n.node === "u")!;
  assert.equal(u.us, 20);
  assert.equal(u.macs, 8 * 4 * 4 * 16);
  assert.equal(nodes.length, 2);
});
