import assert from "node:assert/strict";
import { QueueFullError, SerialQueue } from "../../../src/models/queue.ts";

Deno.test("admission tickets count toward the queue bound and are released by running or giving back", async () => {
  const q = new SerialQueue(1); // one waiting + one running
  const a = q.reserve();
  const b = q.reserve();
  assert.throws(() => q.reserve(), QueueFullError);
  assert.equal(q.reserved, 2);
  b.release();
  b.release(); // idempotent
  assert.equal(q.reserved, 1);
  const { value } = await q.run(() => Promise.resolve(7), undefined, a);
  assert.equal(value, 7);
  assert.equal(q.reserved, 0);
  q.reserve().release();
});

Deno.test("ahead counts waiting jobs and reserved places, not the running ones", async () => {
  const q = new SerialQueue(4);
  let finish = () => {};
  const running = q.run(() => new Promise<void>((r) => (finish = r)));
  const waiting = q.run(() => Promise.resolve());
  const ticket = q.reserve();
  assert.equal(q.ahead, 2);
  ticket.release();
  finish();
  await Promise.all([running, waiting]);
  assert.equal(q.ahead, 0);
});
