import assert from "node:assert/strict";
import { join } from "node:path";
import { decode as decodePng } from "fast-png";
import { CardError, parseCard } from "../../../src/models/card.ts";
import { readModelSource, scanRepository } from "../../../src/models/repository.ts";
import { unetModel } from "../../../lib/onnx_builder.ts";
import { createApp } from "../../../mod.ts";
import { fixtureCard, fixtureServer, makeRepo, testConfig } from "../../helpers/model_repo.ts";
import { makePng } from "../../helpers/images.ts";

Deno.test("a card is validated with every problem named", () => {
  assert.throws(
    () =>
      parseCard({
        name: "../x",
        version: "1",
        input: { channels: 2, mean: [0], std: [0] },
        threshold: 2,
      }, "m/model.json"),
    (err: unknown) => {
      assert.ok(err instanceof CardError);
      assert.match(err.message, /m\/model\.json/);
      assert.match(err.message, /name/);
      assert.match(err.message, /input\.channels/);
      assert.match(err.message, /threshold/);
      return true;
    },
  );
  assert.throws(
    () => parseCard({ ...fixtureCard("a", "1"), precision: "int8" }, "f"),
    /files\.int8/,
  );
  const card = parseCard(fixtureCard("a", "1"), "f");
  assert.equal(card.output.kind, "logits");
  assert.equal(card.engine, "auto");
});

Deno.test("scanning finds versions, ignores folders without a card, and names a bad card's file", async () => {
  const root = await makeRepo([{ name: "a" }, { name: "a", version: "10" }, {
    name: "a",
    version: "2",
  }, { name: "b" }]);
  try {
    await Deno.mkdir(join(root, "a", "samples"));
    const found = await scanRepository(root);
    assert.deepEqual(found.map((e) => `${e.name}/${e.version}`), ["a/1", "a/2", "a/10", "b/1"]);
    await Deno.writeTextFile(join(root, "b", "1", "model.json"), "{ nope");
    await assert.rejects(scanRepository(root), (err: unknown) => {
      assert.ok(err instanceof CardError);
      assert.match(err.message, /b\/1\/model\.json.*not valid JSON/);
      return true;
    });
    await Deno.writeTextFile(
      join(root, "b", "1", "model.json"),
      JSON.stringify({ ...fixtureCard("c", "1") }),
    );
    await assert.rejects(scanRepository(root), /card says c\/1 but lives in b\/1/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a model that disagrees with its card is refused with the reason", async () => {
  const root = await makeRepo([
    {
      name: "grey",
      net: { channels: 1 },
      card: { input: { ...fixtureCard("grey", "1", 3).input as object } },
    },
    { name: "notonnx", onnx: new TextEncoder().encode("this is not a model") },
  ]);
  try {
    const [grey, notOnnx] = await scanRepository(root);
    await assert.rejects(readModelSource(grey, "fp32"), /has 1 channels, card says 3/);
    await assert.rejects(
      readModelSource(notOnnx, "fp32"),
      /notonnx\/1\/model\.onnx: not an ONNX model/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a fixed-size model letterboxes any image and returns the mask at its size", async () => {
  await using s = await fixtureServer([{
    name: "fixed",
    net: { fixedSize: [64, 64], channels: 3 },
    card: {
      input: {
        ...(fixtureCard("fixed", "1").input as object),
        height: 64,
        width: 64,
        resize: null,
      },
    },
  }]);
  const res = await s.app.request("/v1/segment", {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: makePng(150, 40, 3),
  });
  assert.equal(res.status, 200);
  const mask = decodePng(new Uint8Array(await res.arrayBuffer()));
  assert.deepEqual([mask.width, mask.height], [150, 40]);
  const meta = await (await s.app.request("/v2/models/fixed")).json();
  assert.deepEqual(meta.inputs[0].shape, [1, 3, 64, 64]);
});

Deno.test("readiness: 503 while loading, 200 when warm; a broken repository never turns ready", async () => {
  const root = await makeRepo([{ name: "a", net: { width: 16, depth: 4 } }]);
  const bad = await makeRepo([{ name: "a", onnx: unetModel({ channels: 1 }) }]);
  try {
    const server = createApp(testConfig(root));
    const early = await server.app.request("/v2/health/ready");
    assert.equal(early.status, 503);
    const busy = await server.app.request("/v1/segment", {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: makePng(8, 8, 3),
    });
    assert.equal(busy.status, 503);
    assert.equal((await busy.json()).code, "model_not_ready");
    await server.ready;
    assert.equal((await server.app.request("/v2/health/ready")).status, 200);
    await server.registry.close();

    const broken = createApp(testConfig(bad));
    await assert.rejects(broken.ready, /channels/);
    const res = await broken.app.request("/v2/health/ready");
    assert.equal(res.status, 503);
    assert.match((await res.json()).error, /a\/1\/model\.onnx/);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(bad, { recursive: true });
  }
});
