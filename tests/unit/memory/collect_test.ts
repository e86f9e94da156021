import assert from "node:assert/strict";
import { collectGarbage } from "../../../src/memory/collect.ts";

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
