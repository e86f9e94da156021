import assert from "node:assert/strict";
import { loadConfig } from "../../../src/config.ts";
import { ModelRegistry } from "../../../src/models/registry.ts";
import { fixtureCard, fixtureServer, makeRepo } from "../../helpers/model_repo.ts";

Deno.test("loadAll without a callback still loads every version", async () => {
  const root = await makeRepo([{ name: "a" }, { name: "b" }]);
  const registry = new ModelRegistry(root, { engine: "native", maxQueue: 4 });
  try {
    await registry.loadAll();
    assert.deepEqual(registry.names(), ["a", "b"]);
    assert.equal(registry.state, "ready");
    assert.equal(registry.defaultModel, "a");
  } finally {
    await registry.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a small model defaults to one engine thread; an explicit setting wins on onnxruntime, the direct kernels say they use one", async () => {
  {
    await using s = await fixtureServer([{ name: "tiny" }], { threads: undefined });
    const [rt] = await s.registry.get("tiny").runtime();
    assert.equal(rt.threads, 1);
    assert.ok(rt.parameters < 1_000_000);
  }
  {
    await using s = await fixtureServer([{ name: "tiny" }], { threads: 2 });
    const [rt] = await s.registry.get("tiny").runtime();
    const direct = rt.notes?.some((n) => n.startsWith("direct kernels (one thread a run"));
    assert.equal(rt.threads, direct ? 1 : 2, JSON.stringify(rt));
  }
});

Deno.test("on the direct kernels, a one-thread model's run alone takes two threads by default on two cores, not with TINYUNET_SOLO_THREADS=1", async () => {
  const cores = navigator.hardwareConcurrency ?? 1;
  const note = async (overrides: { soloThreads?: number }) => {
    await using s = await fixtureServer([{ name: "tiny" }], { threads: undefined, ...overrides });
    const [rt] = await s.registry.get("tiny").runtime();
    assert.equal(rt.threads, 1);
    return rt.notes?.find((n) => n.startsWith("direct kernels")) ?? "";
  };
  const defaults = await note({ soloThreads: loadConfig({}).soloThreads });
  assert.equal(defaults.includes("two for a run alone"), cores >= 2, defaults);
  assert.ok(!(await note({ soloThreads: 1 })).includes("two for a run alone"));
});

Deno.test("the repository's repository.json names the default model; the setting overrides it", async () => {
  const root = await makeRepo([{ name: "a" }, { name: "b" }]);
  try {
    await Deno.writeTextFile(`${root}/repository.json`, JSON.stringify({ default_model: "b" }));
    const byFile = new ModelRegistry(root, { engine: "native", maxQueue: 4 });
    await byFile.loadAll();
    assert.equal(byFile.defaultModel, "b");
    await byFile.close();
    const bySetting = new ModelRegistry(root, { engine: "native", maxQueue: 4 });
    await bySetting.loadAll("a");
    assert.equal(bySetting.defaultModel, "a");
    await bySetting.close();
    await Deno.writeTextFile(`${root}/repository.json`, "{oops");
    const broken = new ModelRegistry(root, { engine: "native", maxQueue: 4 });
    await assert.rejects(broken.loadAll(), /repository\.json: not valid JSON/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadAll loads the largest input first (without an arena its freed activations serve the smaller ones); a bad card still fails alone", async () => {
  // fixed-size cards warm up at their size (the others all at one small size)
  const sized = (name: string, side: number) => ({
    name,
    card: { input: { ...fixtureCard(name, "1").input as object, height: side, width: side } },
  });
  const root = await makeRepo([sized("a", 32), sized("b", 128), sized("c", 64)]);
  await Deno.writeTextFile(`${root}/c/1/model.json`, "{ not json");
  const registry = new ModelRegistry(root, { engine: "native", maxQueue: 4 });
  try {
    const order: string[] = [];
    await registry.loadAll(undefined, (mv) => order.push(mv.name));
    assert.deepEqual(order, ["b", "a"], "128² before 32²");
    assert.deepEqual(registry.names(), ["a", "b"], "names stay sorted");
    assert.equal(registry.defaultModel, "a");
    assert.match(registry.index().find((e) => e.name === "c")?.reason ?? "", /not valid JSON/);
  } finally {
    await registry.close();
    await Deno.remove(root, { recursive: true });
  }
});
