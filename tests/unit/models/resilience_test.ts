/**
 * One bad model never takes the server down (start-up and hot reload), readiness modes,
 * and a PyTorch external-data export renamed to `model.onnx` + `model.onnx.data`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../../mod.ts";
import { decodeModel, encodeModel } from "../../../src/onnx/proto.ts";
import { makePng } from "../../helpers/images.ts";
import { makeRepo, testConfig } from "../../helpers/model_repo.ts";
import { parsePrometheus, sampleValue } from "../../helpers/prometheus.ts";

const TORCH = new URL("../../fixtures/torch_external/", import.meta.url).pathname;

function segment(
  app: { request: (p: string, i: RequestInit) => Response | Promise<Response> },
  model: string,
) {
  return app.request(`/v1/models/${model}/segment`, {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: makePng(40, 30, 3),
  });
}

Deno.test("a repository with one corrupt model and one good one serves the good one (start-up)", async () => {
  const root = await makeRepo([
    { name: "good" },
    { name: "corrupt", onnx: new TextEncoder().encode("this is not an ONNX file") },
  ]);
  const server = createApp(testConfig(root, { defaultModel: "good" }));
  try {
    await server.ready; // resolves: one bad model is not a start-up failure
    assert.equal((await segment(server.app, "good")).status, 200);
    const bad = await segment(server.app, "corrupt");
    assert.equal(bad.status, 503);
    assert.match((await bad.json()).error, /corrupt.*failed to load.*not an ONNX model/s);
    assert.equal((await server.app.request("/v2/models/corrupt/ready")).status, 503);
    assert.equal((await server.app.request("/v2/models/good/ready")).status, 200);

    const index = await (await server.app.request("/v2/repository/index")).json();
    const row = index.find((e: { name: string }) => e.name === "corrupt");
    assert.equal(row.state, "UNAVAILABLE");
    assert.match(row.reason, /corrupt\/1\/model\.onnx: not an ONNX model/);
    assert.equal(index.find((e: { name: string }) => e.name === "good").state, "READY");

    // strict readiness (Triton's default): not ready while a listed model failed
    const strict = await server.app.request("/v2/health/ready");
    assert.equal(strict.status, 503);
    const body = await strict.json();
    assert.equal(body.mode, "all");
    assert.deepEqual(body.failed.map((f: { name: string }) => f.name), ["corrupt"]);

    const samples = parsePrometheus(await (await server.app.request("/metrics")).text());
    assert.equal(sampleValue(samples, "tinyunet_model_load_failed", { model: "corrupt" }), 1);
    assert.equal(sampleValue(samples, "tinyunet_model_ready", { model: "corrupt" }), 0);
    assert.equal(sampleValue(samples, "tinyunet_model_ready", { model: "good" }), 1);
  } finally {
    await server.registry.close();
  }

  // TINYUNET_READY=default-model: ready as soon as the default model serves
  const relaxed = createApp(testConfig(root, { defaultModel: "good", ready: "default-model" }));
  try {
    await relaxed.ready;
    const res = await relaxed.app.request("/v2/health/ready");
    assert.equal(res.status, 200);
    assert.equal((await res.json()).failed.length, 1);
  } finally {
    await relaxed.registry.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("hot reload: a corrupt new model or version is reported and the rest keep serving", async () => {
  const root = await makeRepo([{ name: "good" }]);
  const server = createApp(testConfig(root));
  try {
    await server.ready;
    assert.equal((await server.app.request("/v2/health/ready")).status, 200);
    // a new model whose file is truncated, and a broken version 2 of the good one
    const good = await Deno.readFile(join(root, "good", "1", "model.onnx"));
    for (const [name, version] of [["broken", "1"], ["good", "2"]]) {
      const dir = join(root, name, version);
      await Deno.mkdir(dir, { recursive: true });
      await Deno.copyFile(join(root, "good", "1", "model.json"), join(dir, "model.json"));
      const card = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
      await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify({ ...card, name, version }));
      await Deno.writeFile(join(dir, "model.onnx"), good.subarray(0, good.length >> 1));
    }
    const results = await server.registry.sync();
    const failed = results.filter((r) => r.action === "failed").map((r) =>
      `${r.name}/${r.version}`
    );
    assert.deepEqual(failed.sort(), ["broken/1", "good/2"]);
    // good/1 still serves, as the latest loaded version
    const res = await segment(server.app, "good");
    assert.equal(res.status, 200);
    const meta = await (await server.app.request("/v1/models/good")).json();
    assert.equal(meta.version ?? meta.card?.version, "1");
    const index = await (await server.app.request("/v2/repository/index")).json();
    assert.equal(index.find((e: { name: string }) => e.name === "broken").state, "UNAVAILABLE");
    assert.equal((await server.app.request("/v2/health/ready")).status, 503);
  } finally {
    await server.registry.close();
    await Deno.remove(root, { recursive: true });
  }
});

/** Copies the PyTorch fixture as if its pair had been exported as `ref-export.onnx(.data)`
 * and then renamed to the README's `model.onnx` + `model.onnx.data`. */
async function renamedExport(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tinyunet-renamed-" });
  const dir = join(root, "tiny", "1");
  await Deno.mkdir(dir, { recursive: true });
  const model = decodeModel(await Deno.readFile(join(TORCH, "tiny/1/model.onnx")));
  for (const t of model.graph?.initializer ?? []) {
    for (const e of t.externalData ?? []) {
      if (e.key === "location") e.value = "ref-export.onnx.data";
    }
  }
  await Deno.writeFile(join(dir, "model.onnx"), encodeModel(model));
  await Deno.copyFile(join(TORCH, "tiny/1/model.onnx.data"), join(dir, "model.onnx.data"));
  await Deno.copyFile(join(TORCH, "tiny/1/model.json"), join(dir, "model.json"));
  return root;
}

Deno.test("an external-data export renamed to model.onnx/model.onnx.data loads and serves PyTorch's numbers", async () => {
  const root = await renamedExport();
  const server = createApp(testConfig(root));
  try {
    await server.ready;
    const expected = JSON.parse(await Deno.readTextFile(join(TORCH, "expected.json")));
    const n = 32 * 48;
    const data = Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
    const res = await server.app.request("/v2/models/tiny/infer", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        inputs: [{ name: "image", shape: [1, 1, 32, 48], datatype: "FP32", data }],
      }),
    });
    assert.equal(res.status, 200);
    const out = (await res.json()).outputs[0].data as number[];
    const diff = Math.max(...out.map((v, i) => Math.abs(v - expected.output[i])));
    assert.ok(diff <= 1e-4, `differs from PyTorch by ${diff}`);
    const [rt] = await server.registry.get("tiny").runtime();
    assert.match(rt.notes.join(" "), /names "ref-export\.onnx\.data"; loaded "model\.onnx\.data"/);
  } finally {
    await server.registry.close();
  }
  // without any data file, the error names the file the graph expects
  await Deno.remove(join(root, "tiny", "1", "model.onnx.data"));
  const missing = createApp(testConfig(root));
  try {
    await assert.rejects(
      missing.ready,
      /expects "ref-export\.onnx\.data".*model\.onnx\.data is not there/s,
    );
  } finally {
    await missing.registry.close();
    await Deno.remove(root, { recursive: true });
  }
});
