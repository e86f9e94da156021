import assert from "node:assert/strict";
import type { EngineName, EngineSession, ModelSource, Tensor } from "../../src/engines/engine.ts";
import { loadEngine } from "../../src/engines/select.ts";
import { seededRandom, unetModel } from "../../lib/onnx_builder.ts";
import { readEntry, readModelSource } from "../../src/models/repository.ts";

const fixtures = new URL("../fixtures/torch_external/", import.meta.url).pathname;

function randomInput(dims: number[], seed = 5): Record<string, Tensor> {
  const rnd = seededRandom(seed);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(() => rnd() * 2 - 1);
  return { image: { data, dims } };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function session(name: EngineName, source: ModelSource, threads = 1): Promise<EngineSession> {
  const engine = await loadEngine(name);
  return await engine.createSession(source, { threads, allowFallbackAdapter: true });
}

async function runAll(
  source: ModelSource,
  input: Record<string, Tensor>,
  engines: [EngineName, number][],
) {
  const outputs: Record<string, Float32Array> = {};
  for (const [name, threads] of engines) {
    const s = await session(name, source, threads);
    try {
      outputs[`${name}/${threads}`] = (await s.run(input)).logits.data;
    } finally {
      await s.release();
    }
  }
  return outputs;
}

Deno.test("native, wasm (1 and 2 threads) and webgpu agree within 1e-4 on a U-Net", async () => {
  const bytes = unetModel({ width: 4, depth: 3, channels: 3, seed: 11, batchNorm: true });
  const source = { path: "unet.onnx", bytes, externalData: [] };
  const input = randomInput([1, 3, 48, 64]);
  const outputs = await runAll(source, input, [["native", 1], ["native", 2], ["wasm", 1], [
    "wasm",
    2,
  ], ["webgpu", 1]]);
  const reference = outputs["native/1"];
  assert.equal(reference.length, 48 * 64);
  assert.ok(reference.some((v) => v !== reference[0]), "output is not constant");
  for (const [key, out] of Object.entries(outputs)) {
    const diff = maxAbsDiff(reference, out);
    assert.ok(diff <= 1e-4, `${key} differs from native by ${diff}`);
  }
});

Deno.test("a PyTorch export with external data loads on every engine and matches PyTorch", async () => {
  const entry = await readEntry(fixtures, "tiny", "1");
  const { source, info } = await readModelSource(entry, "fp32");
  assert.deepEqual(info.externalData, ["model.onnx.data"]);
  assert.equal(source.externalData[0].data.length > 0, true);
  const expected = JSON.parse(await Deno.readTextFile(`${fixtures}/expected.json`));
  const n = 32 * 48;
  const data = new Float32Array(n).map((_, i) => -1 + (2 * i) / (n - 1));
  const outputs = await runAll(source, { image: { data, dims: [1, 1, 32, 48] } }, [["native", 1], [
    "wasm",
    1,
  ], ["webgpu", 1]]);
  const torch = Float32Array.from(expected.output as number[]);
  for (const [key, out] of Object.entries(outputs)) {
    const diff = maxAbsDiff(torch, out);
    assert.ok(diff <= 1e-4, `${key} differs from PyTorch by ${diff}`);
  }
});
