import assert from "node:assert/strict";
import { ModelRegistry } from "../../src/models/registry.ts";
import { fixtureServer, makeRepo } from "../helpers/model_repo.ts";

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

Deno.test("a small model defaults to one engine thread; an explicit setting wins", async () => {
  {
    await using s = await fixtureServer([{ name: "tiny" }], { threads: undefined });
    const [rt] = await s.registry.get("tiny").runtime();
    assert.equal(rt.threads, 1);
    assert.ok(rt.parameters < 1_000_000);
  }
  {
    await using s = await fixtureServer([{ name: "tiny" }], { threads: 2 });
    const [rt] = await s.registry.get("tiny").runtime();
    assert.equal(rt.threads, 2);
  }
});
