import assert from "node:assert/strict";
import { QueueAbortedError, QueueFullError, SerialQueue } from "../../../src/models/queue.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

Deno.test("jobs run one at a time, in order", async () => {
  const q = new SerialQueue(10);
  const log: string[] = [];
  let running = 0, maxRunning = 0;
  const job = (name: string) => async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    log.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, 5));
    log.push(`end ${name}`);
    running--;
    return name;
  };
  const results = await Promise.all(["a", "b", "c"].map((n) => q.run(job(n))));
  assert.deepEqual(results.map((r) => r.value), ["a", "b", "c"]);
  assert.equal(maxRunning, 1);
  assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  assert.ok(results[2].timings.queueMs >= results[0].timings.queueMs);
});

Deno.test("a full queue refuses at once with a retry hint, and frees up after", async () => {
  const q = new SerialQueue(2);
  const gate = deferred();
  const first = q.run(() => gate.promise); // running
  const waiting = [q.run(() => Promise.resolve(1)), q.run(() => Promise.resolve(2))];
  assert.equal(q.depth, 2);
  await assert.rejects(q.run(() => Promise.resolve(3)), (err: unknown) => {
    assert.ok(err instanceof QueueFullError);
    assert.ok(err.retryAfterSeconds >= 1);
    return true;
  });
  gate.resolve();
  await first;
  assert.deepEqual((await Promise.all(waiting)).map((r) => r.value), [1, 2]);
  assert.equal((await q.run(() => Promise.resolve(4))).value, 4);
});

Deno.test("an aborted waiting job leaves the queue and frees its slot", async () => {
  const q = new SerialQueue(1);
  const gate = deferred();
  const first = q.run(() => gate.promise);
  const controller = new AbortController();
  const abandoned = q.run(() => Promise.resolve("never"), controller.signal);
  controller.abort(new Error("deadline"));
  await assert.rejects(abandoned, QueueAbortedError);
  assert.equal(q.depth, 0);
  const next = q.run(() => Promise.resolve("next")); // the slot is free again
  gate.resolve();
  await first;
  assert.equal((await next).value, "next");
});

Deno.test("a failing job does not block the queue", async () => {
  const q = new SerialQueue(4);
  await assert.rejects(q.run(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal((await q.run(() => Promise.resolve("ok"))).value, "ok");
  assert.equal(q.busy, false);
});
