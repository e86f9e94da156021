import assert from "node:assert/strict";
import { collectGarbage, IdleCollector } from "../../../src/memory/collect.ts";

Deno.test("collectGarbage frees what nothing references and reports the heap shrinking", async () => {
  let garbage: Uint8Array[] | null = Array.from({ length: 64 }, () => new Uint8Array(64 * 1024));
  const ref = new WeakRef(garbage);
  garbage = null;
  // a WeakRef's target lives until the job that created it ends
  await new Promise((r) => setTimeout(r, 0));
  const { before, after } = collectGarbage();
  assert.equal(ref.deref(), undefined);
  assert.ok(after < before, `used heap ${before} → ${after}`);
});

Deno.test("an IdleCollector collects once, delayMs after the last of several touches; 0 turns it off", async () => {
  const idle = new IdleCollector(30);
  const off = new IdleCollector(0);
  try {
    idle.touch();
    await new Promise((r) => setTimeout(r, 10));
    idle.touch(); // work again: the collection moves on
    off.touch();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(idle.collections, 0, "30 ms have not passed since the last touch");
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(idle.collections, 1);
    assert.equal(off.collections, 0);
  } finally {
    idle.stop();
  }
});
