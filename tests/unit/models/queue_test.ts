import assert from "node:assert/strict";
import {
  QueueAbortedError,
  QueueFullError,
  RunGate,
  SerialQueue,
} from "../../../src/models/queue.ts";

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

Deno.test("a queue with 2 lanes runs two jobs at once, the third waits", async () => {
  const { SerialQueue } = await import("../../../src/models/queue.ts");
  const q = new SerialQueue(4, 2);
  let running = 0, peak = 0;
  const job = () =>
    q.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
    });
  const all = [job(), job(), job()];
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(q.runningJobs, 2);
  assert.equal(q.depth, 1);
  await Promise.all(all);
  assert.equal(peak, 2);
});

Deno.test("a run gate caps runs in flight over several queues, waking them in the order they asked", async () => {
  const gate = new RunGate(2);
  const queues = [new SerialQueue(8, 2, gate), new SerialQueue(8, 2, gate)];
  let running = 0, peak = 0;
  const order: string[] = [];
  const job = (q: SerialQueue, name: string) =>
    q.run(async () => {
      order.push(name);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 15));
      running--;
    });
  // four lanes in all, two permits: a1 and a2 run, b1 asks first, then a3, b2
  const all = [job(queues[0], "a1"), job(queues[0], "a2"), job(queues[1], "b1")];
  await new Promise((r) => setTimeout(r, 2));
  assert.equal(gate.inUse, 2);
  assert.equal(queues[1].runningJobs, 0, "b1 waits for a permit although its queue has lanes free");
  all.push(job(queues[0], "a3"), job(queues[1], "b2"));
  await Promise.all(all);
  assert.equal(peak, 2);
  assert.equal(gate.inUse, 0);
  assert.deepEqual(order.slice(0, 3), ["a1", "a2", "b1"]);
});

Deno.test("a run gate does not stall when the job it would wake was abandoned", async () => {
  const gate = new RunGate(1);
  const a = new SerialQueue(8, 1, gate),
    b = new SerialQueue(8, 1, gate),
    c = new SerialQueue(8, 1, gate);
  const first = deferred();
  const running = a.run(() => first.promise);
  const abort = new AbortController();
  const abandoned = b.run(() => Promise.resolve(), abort.signal);
  const later = c.run(() => Promise.resolve("ran"));
  abort.abort("client left");
  await assert.rejects(abandoned, QueueAbortedError);
  first.resolve();
  await running;
  assert.equal((await later).value, "ran");
  assert.equal(gate.inUse, 0);
});
