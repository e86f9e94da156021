import assert from "node:assert/strict";
import { nativeEngine } from "../../../../src/engines/onnx_native.ts";
import type { Tensor } from "../../../../src/engines/engine.ts";
import { GraphBuilder, seededRandom, unetModel } from "../../../../lib/onnx_builder.ts";
import { decodeModel, encodeModel } from "../../../../src/onnx/proto.ts";
import { foldBatchNorm, outputChannelOf } from "../../../../tools/quantize/fold_batchnorm.ts";

async function run(bytes: Uint8Array, input: Tensor): Promise<Float32Array> {
  const s = await nativeEngine.createSession({ path: "m.onnx", bytes, externalData: [] }, {
    threads: 1,
  });
  try {
    return (await s.run({ image: input })).logits.data;
  } finally {
    await s.release();
  }
}

function randomInput(channels: number, h: number, w: number): Tensor {
  const r = seededRandom(3);
  return {
    data: Float32Array.from({ length: channels * h * w }, () => r() * 4 - 2),
    dims: [1, channels, h, w],
  };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("folding BatchNormalization into Conv and ConvTranspose keeps the outputs", async () => {
  // a U-Net with BN after every conv, plus a ConvTranspose followed by BN
  const g = new GraphBuilder(8);
  const x = g.input("image", [1, 3, "H", "W"]);
  const c = g.batchNorm(g.conv(x, 3, 4), 4);
  const up = g.batchNorm(g.upConv(g.relu(c), 4, 2), 2);
  g.output(g.conv(up, 2, 1, 1), "logits", [1, 1, "H", "W"]);
  for (const bytes of [g.build(), unetModel({ width: 4, depth: 2, batchNorm: true })]) {
    const model = decodeModel(bytes);
    const bnCount = model.graph!.node!.filter((n) => n.opType === "BatchNormalization").length;
    assert.equal(foldBatchNorm(model, "."), bnCount);
    assert.ok(!model.graph!.node!.some((n) => n.opType === "BatchNormalization"));
    const input = randomInput(3, 16, 16);
    const before = await run(bytes, input), after = await run(encodeModel(model), input);
    assert.ok(maxDiff(before, after) < 1e-4, `max difference ${maxDiff(before, after)}`);
  }
});

Deno.test("a BN whose input is shared is not folded", () => {
  const g = new GraphBuilder(1);
  const x = g.input("image", [1, 3, "H", "W"]);
  const c = g.conv(x, 3, 2);
  const bn = g.batchNorm(c, 2);
  g.output(g.concat([bn, c]), "logits", [1, 4, "H", "W"]);
  const model = decodeModel(g.build());
  assert.equal(foldBatchNorm(model, "."), 0);
});

Deno.test("output channel of ConvTranspose weights with groups", () => {
  // [Cin=4, Cout/g=3, 1, 1], group 2: input channels 0-1 feed outputs 0-2, 2-3 feed 3-5
  const ch = outputChannelOf([4, 3, 1, 1], true, 2);
  assert.deepEqual(Array.from({ length: 12 }, (_, i) => ch(i)), [
    0,
    1,
    2,
    0,
    1,
    2,
    3,
    4,
    5,
    3,
    4,
    5,
  ]);
  const conv = outputChannelOf([2, 3, 2, 2], false, 1);
  assert.deepEqual([conv(0), conv(11), conv(12), conv(23)], [0, 0, 1, 1]);
});
