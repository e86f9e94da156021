/**
 * The tensor pool: a tensor given back is handed out again for the same length (zeroed unless
 * asked not to), views and emptied (transferred) buffers are not kept, and it stays bounded.
 */
import assert from "node:assert/strict";
import { giveTensor, pooledTensors, takeTensor } from "../../../src/memory/tensor_pool.ts";

Deno.test("takeTensor reuses what giveTensor kept, zeroed unless asked not to", () => {
  const a = takeTensor(1000);
  a.fill(7);
  giveTensor(a);
  const b = takeTensor(1000);
  assert.equal(b, a);
  assert.ok(b.every((v) => v === 0));
  b.fill(5);
  giveTensor(b);
  const c = takeTensor(1000, false);
  assert.equal(c, a);
  assert.equal(c[0], 5);
  assert.notEqual(takeTensor(1000), a, "taken: not handed out twice");
});

Deno.test("giveTensor keeps no views, no emptied buffers, and a bounded number", () => {
  const before = pooledTensors();
  giveTensor(new Float32Array(64).subarray(8)); // a view
  const moved = new Float32Array(64);
  structuredClone(moved.buffer, { transfer: [moved.buffer] }); // moved to another thread
  giveTensor(moved);
  assert.equal(pooledTensors(), before);
  for (let i = 0; i < 10; i++) giveTensor(new Float32Array(77));
  assert.equal(pooledTensors(), before + 4);
  for (let n = 1; n <= 6; n++) giveTensor(new Float32Array(100 + n));
  assert.ok(pooledTensors() <= 4 * 4);
});
