/**
 * The native solo copy on the HTTP isolate: it loads, runs and releases like a Worker host.
 * A real native session loads it first (local first): a lone run goes to it, overlapping runs
 * bring up engine lanes in host Workers that answer what it answers, and idle lanes go
 * again, Worker and all.
 */
import assert from "node:assert/strict";
import { unetModel } from "../../../lib/onnx_builder.ts";
import { LocalHost } from "../../../src/engines/local_host.ts";
import { HostedSession } from "../../../src/engines/host_session.ts";
import { liveHosts } from "../../../src/engines/engine_host.ts";
import type { Warmup } from "../../../src/engines/engine.ts";

const bytes = unetModel({ width: 4, depth: 3, seed: 3 });
const input = () => ({
  image: {
    data: Float32Array.from({ length: 3 * 32 * 48 }, (_, i) => Math.sin(i)),
    dims: [1, 3, 32, 48],
  },
});

Deno.test("LocalHost loads, runs and releases a native session by id", async () => {
  const host = new LocalHost();
  const load = {
    type: "load" as const,
    sid: 7,
    backend: "native" as const,
    threads: 2,
    path: "unet.onnx",
    model: bytes,
    externalData: [],
    spin: "run" as const,
    arena: "own" as const,
    idleGcMs: 0,
  };
  assert.deepEqual(await host.load({ load }), { inputNames: ["image"], outputNames: ["logits"] });
  assert.equal(host.sessions, 1);
  const out = await host.run(7, input(), 30_000, "native");
  assert.deepEqual(out.logits.dims, [1, 1, 32, 48]);
  assert.ok(out.logits.data.every(Number.isFinite));
  host.release(7);
  assert.equal(host.sessions, 0);
  await assert.rejects(host.run(7, input(), 30_000, "native"), /no session 7/);
  await assert.rejects(host.load({ load: { ...load, backend: "wasm" } }), /native sessions only/);
});

/** A one-thread, two-lane native session with a two-thread solo copy (local first). */
function localFirst(
  seed = 3,
  laneIdleMs = 0,
  warmup: Warmup = input(),
): Promise<HostedSession> {
  return HostedSession.create(
    "native",
    "native",
    {
      path: `unet${seed}.onnx`,
      bytes: seed === 3 ? bytes : unetModel({ width: 4, depth: 3, seed }),
      externalData: [],
    },
    { threads: 1, lanes: 2, soloThreads: 2, warmup, laneIdleMs },
    1,
  );
}

const nativeWorkers = () => liveHosts().filter((h) => h.key.startsWith("native:"));

/**
 * Runs overlapping batches until `done` holds (a lane loads in the background: a Worker and
 * its module graph, seconds on a fresh clone's cold module cache), for at most 60 s.
 */
async function overlapUntil(session: HostedSession, done: () => boolean) {
  const deadline = Date.now() + 60_000;
  while (!done() && Date.now() < deadline) {
    await Promise.all([0, 1, 2].map(() => session.run(input())));
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("local first: the solo copy on this isolate is loaded at start, no Worker, and serves a lone run", async () => {
  const before = nativeWorkers().length;
  const session = await localFirst();
  try {
    assert.ok(session.localFirst);
    assert.equal(session.soloWhere, "local");
    assert.equal(session.lanesLoaded, 0, "no lane loaded at start");
    assert.equal(nativeWorkers().length, before, "no engine host Worker at start");
    const out = await session.run(input());
    assert.deepEqual(out.logits.dims, [1, 1, 32, 48]);
    assert.equal(session.soloRuns, 1, "a lone run goes to the solo copy");
    assert.equal(session.lanesLoaded, 0, "a lone run brings up no lane");
  } finally {
    await session.release();
  }
});

Deno.test("local first: overlapping runs bring up lanes in host Workers that answer what the solo copy answers; idle lanes go, Worker and all", async () => {
  let warmups = 0;
  // a warm-up given as a function is made for each copy that loads (nothing keeps its tensors)
  const session = await localFirst(3, 300, () => (warmups++, input()));
  try {
    assert.equal(warmups, 1, "the solo copy's warm-up");
    const alone = (await session.run(input())).logits.data;
    await overlapUntil(session, () => session.lanesLoaded > 0);
    assert.ok(
      session.lanesLoaded > 0,
      `overlapping runs never brought up a lane: ${session.notes}`,
    );
    assert.ok(nativeWorkers().some((h) => h.sessions > 0), "the lane lives in a host Worker");
    assert.ok(warmups >= 2, "the lane made its own warm-up");
    const soloBefore = session.soloRuns;
    const outs = await Promise.all([0, 1, 2].map(() => session.run(input())));
    assert.ok(session.soloRuns < soloBefore + 3, "overlapping runs reached a lane");
    for (const o of outs) {
      assert.ok(
        o.logits.data.every((v, k) => Math.abs(v - alone[k]) < 1e-4),
        "lane and solo agree",
      );
    }
    const deadline = Date.now() + 30_000;
    while ((session.lanesLoaded > 0 || nativeWorkers().length > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(session.lanesLoaded, 0, "idle lanes released");
    assert.equal(nativeWorkers().length, 0, "their Workers ended");
    const soloBefore2 = session.soloRuns;
    await session.run(input());
    assert.equal(session.soloRuns, soloBefore2 + 1, "the solo copy stays and serves");
  } finally {
    await session.release();
  }
});

Deno.test("a solo run pending on the HTTP isolate sends another model's run to its lane once one is loaded", async () => {
  const [a, b] = [await localFirst(4), await localFirst(5)];
  try {
    await overlapUntil(b, () => b.lanesLoaded > 0);
    assert.ok(b.lanesLoaded > 0, `b never brought up a lane: ${b.notes}`);
    await b.run(input());
    const before = b.soloRuns;
    assert.ok(before > 0);
    const pending = a.run(input()); // a lone run: a's solo copy, pending on this isolate
    await b.run(input());
    assert.equal(b.soloRuns, before, "b ran on its solo copy while a's was pending");
    await pending;
    await b.run(input());
    assert.equal(b.soloRuns, before + 1, "alone again, b uses its solo copy");
  } finally {
    await a.release();
    await b.release();
  }
});
