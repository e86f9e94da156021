import assert from "node:assert/strict";
import type { Tensor } from "../../../src/engines/engine.ts";
import { Batcher } from "../../../src/models/batcher.ts";
import { SerialQueue } from "../../../src/models/queue.ts";

const img = (v: number, w = 2): Record<string, Tensor> => ({
  image: { data: new Float32Array(w).fill(v), dims: [1, 1, 1, w] },
});

/** An engine that doubles its input and records the batch shapes it was given. */
function doubler() {
  const calls: number[][] = [];
  const run = (feeds: Record<string, Tensor>) => {
    calls.push(feeds.image.dims);
    return Promise.resolve({
      logits: { data: feeds.image.data.map((x) => 2 * x), dims: feeds.image.dims },
    });
  };
  return { calls, run };
}

Deno.test("batcher: same-shape requests within the delay run as one batch, each gets its slice", async () => {
  const e = doubler();
  const b = new Batcher(new SerialQueue(8), e.run, { maxBatch: 4, maxDelayMs: 30 });
  const outs = await Promise.all([b.run(img(1)), b.run(img(2)), b.run(img(3))]);
  assert.deepEqual(e.calls, [[3, 1, 1, 2]]);
  assert.deepEqual(outs.map((o) => Array.from(o.value.logits.data)), [[2, 2], [4, 4], [6, 6]]);
  assert.deepEqual(outs.map((o) => o.value.logits.dims), [[1, 1, 1, 2], [1, 1, 1, 2], [
    1,
    1,
    1,
    2,
  ]]);
  assert.ok(outs.every((o) => o.batch === 3));
});

Deno.test("batcher: a full batch runs at once, other shapes run apart, maxBatch 1 never waits", async () => {
  const e = doubler();
  const b = new Batcher(new SerialQueue(8), e.run, { maxBatch: 2, maxDelayMs: 10_000 });
  const t = performance.now();
  await Promise.all([b.run(img(1)), b.run(img(2))]);
  assert.ok(performance.now() - t < 1000, "a full batch does not wait for the delay");
  const e2 = doubler();
  const b2 = new Batcher(new SerialQueue(8), e2.run, { maxBatch: 4, maxDelayMs: 5 });
  await Promise.all([b2.run(img(1, 2)), b2.run(img(1, 3))]);
  assert.deepEqual(e2.calls.map((d) => d[3]).sort(), [2, 3]);
  const e3 = doubler();
  const off = new Batcher(new SerialQueue(8), e3.run, { maxBatch: 1, maxDelayMs: 10_000 });
  await Promise.all([off.run(img(1)), off.run(img(2))]);
  assert.deepEqual(e3.calls, [[1, 1, 1, 2], [1, 1, 1, 2]]);
});

Deno.test("batcher: a request aborted while it waits for company leaves the batch", async () => {
  const e = doubler();
  const b = new Batcher(new SerialQueue(8), e.run, { maxBatch: 4, maxDelayMs: 30 });
  const ac = new AbortController();
  const gone = b.run(img(1), ac.signal);
  const kept = b.run(img(2));
  ac.abort(new Error("client left"));
  await assert.rejects(gone, /abandoned/);
  assert.deepEqual(Array.from((await kept).value.logits.data), [4, 4]);
  assert.deepEqual(e.calls, [[1, 1, 1, 2]]);
});
