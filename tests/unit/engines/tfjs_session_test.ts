/**
 * tfjs-wasm sessions: load-time errors for unsupported models, tensor bookkeeping on the
 * shared backend (no leaks after runs, failed loads, failed runs or release), several
 * sessions at once, tensor storage variants (float_data, Constant nodes, external data)
 * and engine selection.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { selectEngine } from "../../../src/engines/select.ts";
import { tfjsWasmEngine } from "../../../src/engines/tfjs_wasm.ts";
import { GraphBuilder, unetModel } from "../../../lib/onnx_builder.ts";
import {
  addTensor,
  attr,
  compareEngines,
  opGraph,
  randomValues,
} from "../../helpers/tfjs_parity.ts";

const source = (bytes: Uint8Array) => ({ path: "m.onnx", bytes, externalData: [] });
const input = (dims: number[], seed = 3) => ({
  image: { data: randomValues(dims.reduce((a, b) => a * b, 1), seed), dims },
});

async function tensorsNow(): Promise<number> {
  await tfjsWasmEngine.probe(); // the backend is up
  return tf.memory().numTensors;
}

Deno.test("tfjs-wasm: an unsupported operator fails at load, naming it, and keeps no tensors", async () => {
  const before = await tensorsNow();
  const bytes = opGraph(3, (g, x) => g.node("Softmax", [g.conv(x, 3, 4)], [attr.int("axis", 1)]));
  await assert.rejects(tfjsWasmEngine.createSession(source(bytes)), (err: Error) => {
    assert.equal(err.name, "UnsupportedOnnxError");
    assert.match(err.message, /operator Softmax .* is not supported/);
    return true;
  });
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("tfjs-wasm: unsupported attribute values fail at load, naming node and value", async () => {
  const cases: [Uint8Array, RegExp][] = [
    [
      opGraph(2, (g, x) => {
        const scales = addTensor(g, "scales", [1, 1, 2, 2], [4]);
        return g.node("Resize", [x, "", scales], [attr.string("mode", "cubic")]);
      }),
      /Resize .*unsupported mode=cubic/,
    ],
    [
      opGraph(2, (g, x) =>
        g.node("MaxPool", [x], [
          attr.ints("kernel_shape", [2, 2]),
          attr.ints("dilations", [2, 2]),
        ])),
      /MaxPool .*dilations=\[2,2\]/,
    ],
    [
      opGraph(2, (g, x) => g.node("Relu", [x], [attr.int("mystery", 1)])),
      /Relu .*unsupported attribute mystery/,
    ],
    [
      opGraph(2, (g, x) => {
        const w = g.randomTensor([2, 2, 3, 3, 3], 10);
        return g.node("Conv", [x, w]);
      }),
      /3-D convolution/,
    ],
    [
      opGraph(2, (g, x) => {
        const s = addTensor(g, "s", [0.1], []);
        const z = addTensor(g, "z", [0], [], 6); // int32 zero point: not 8-bit
        return g.node("DequantizeLinear", [g.node("QuantizeLinear", [x, s, z]), s, z]);
      }),
      /int32 quantization/,
    ],
  ];
  for (const [bytes, pattern] of cases) {
    await assert.rejects(tfjsWasmEngine.createSession(source(bytes)), pattern);
  }
});

Deno.test("tfjs-wasm: runs return the tensor count to its baseline; release frees the weights", async () => {
  const before = await tensorsNow();
  const session = await tfjsWasmEngine.createSession(
    source(unetModel({ width: 2, depth: 2, batchNorm: true })),
    {
      warmup: input([1, 3, 32, 32]),
    },
  );
  const loaded = tf.memory().numTensors;
  assert.ok(loaded > before, "weights live on the backend while the session does");
  for (const dims of [[1, 3, 32, 48], [1, 3, 16, 16], [1, 3, 64, 32]]) {
    const out = await session.run(input(dims));
    assert.deepEqual(out.logits.dims, [dims[0], 1, dims[2], dims[3]]);
    assert.equal(tf.memory().numTensors, loaded);
  }
  await assert.rejects(session.run(input([1, 1, 32, 32])), /dim 1 must be 3/);
  await assert.rejects(session.run({}), /missing input "image"/);
  await assert.rejects(session.run(input([2, 3, 16, 16])), /dim 0 must be 1/);
  assert.equal(tf.memory().numTensors, loaded, "failed runs leak nothing");
  await session.release();
  await session.release(); // idempotent
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(session.run(input([1, 3, 32, 32])), /released/);
});

Deno.test("tfjs-wasm: sessions of different models share the backend and give the same results interleaved", async () => {
  const before = await tensorsNow();
  const a = await tfjsWasmEngine.createSession(source(unetModel({ width: 2, depth: 2, seed: 1 })));
  const b = await tfjsWasmEngine.createSession(
    source(unetModel({ width: 3, depth: 3, seed: 2, channels: 1 })),
  );
  const xa = input([1, 3, 32, 32], 1);
  const xb = input([1, 1, 48, 32], 2);
  const alone = [(await a.run(xa)).logits.data, (await b.run(xb)).logits.data];
  const together = await Promise.all([a.run(xa), b.run(xb), a.run(xa), b.run(xb)]);
  assert.deepEqual(together[0].logits.data, alone[0]);
  assert.deepEqual(together[1].logits.data, alone[1]);
  assert.deepEqual(together[2].logits.data, alone[0]);
  assert.deepEqual(together[3].logits.data, alone[1]);
  await a.release();
  assert.deepEqual(
    (await b.run(xb)).logits.data,
    alone[1],
    "releasing one session leaves the other intact",
  );
  await b.release();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("tfjs-wasm: float_data initializers, Constant nodes and external data load like onnxruntime", async () => {
  const g = new GraphBuilder(5);
  const x = g.input("x", [1, 3, "H", "W"]);
  const w = randomValues(4 * 3 * 9, 8);
  g.initializers.push({ name: "w", dims: [4, 3, 3, 3], dataType: 1, floatData: Array.from(w) });
  const wExt = randomValues(2 * 4 * 9, 9);
  const ext = new Uint8Array(16 + wExt.byteLength);
  ext.set(new Uint8Array(wExt.buffer), 16);
  g.initializers.push({
    name: "w2",
    dims: [2, 4, 3, 3],
    dataType: 1,
    dataLocation: 1,
    externalData: [{ key: "location", value: "weights.bin" }, { key: "offset", value: "16" }, {
      key: "length",
      value: String(wExt.byteLength),
    }],
  });
  const bias = g.node("Constant", [], [{
    name: "value",
    type: 4,
    t: { dims: [4], dataType: 1, floatData: [0.1, -0.2, 0.3, 0] },
  }]);
  const scale = g.node("Constant", [], [attr.float("value_float", 0.5)]);
  const y = g.node("Conv", [x, "w", bias], [attr.ints("pads", [1, 1, 1, 1])]);
  const z = g.node("Conv", [g.node("Mul", [g.relu(y), scale]), "w2"], [
    attr.ints("pads", [1, 1, 1, 1]),
  ]);
  g.output(z, "y", [1, 2, "H", "W"]);
  const dir = await Deno.makeTempDir({ prefix: "tfjs-ext-" });
  try {
    const bytes = g.build();
    await Deno.writeFile(join(dir, "model.onnx"), bytes);
    await Deno.writeFile(join(dir, "weights.bin"), ext);
    const src = {
      path: join(dir, "model.onnx"),
      bytes,
      externalData: [{ path: "weights.bin", data: ext }],
    };
    await compareEngines(src, [1, 3, 9, 11]);
    await assert.rejects(
      tfjsWasmEngine.createSession({ ...src, externalData: [] }),
      /external data "weights.bin" was not provided/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tfjs-wasm is chosen only explicitly and reports itself", async () => {
  const explicit = await selectEngine("tfjs-wasm");
  assert.equal(explicit.engine.name, "tfjs-wasm");
  assert.equal(explicit.explicit, true);
  assert.match(explicit.reason, /tfjs-backend-wasm 4\.22\.0 \(SIMD/);
  const auto = await selectEngine("auto");
  assert.notEqual(auto.engine.name, "tfjs-wasm");
  const session = await explicit.engine.createSession(source(unetModel({ width: 2, depth: 1 })), {
    threads: 4,
  });
  assert.equal(session.engine, "tfjs-wasm");
  assert.deepEqual([session.inputNames, session.outputNames], [["image"], ["logits"]]);
  assert.equal(session.threads, 1);
  assert.ok(session.notes.some((n) => /asked for 4 threads/.test(n)), session.notes.join("; "));
  await session.release();
});
