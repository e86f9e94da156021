import assert from "node:assert/strict";
import { EngineHangError } from "../../../src/engines/engine.ts";
import { HostedSession } from "../../../src/engines/host_session.ts";
import { liveHosts } from "../../../src/engines/engine_host.ts";

const model = { path: "m.onnx", bytes: new Uint8Array(4), externalData: [] };
const warmup = { image: { data: new Float32Array([1, 2, 3, 4]), dims: [1, 1, 2, 2] } };
const hangWhenThreaded = new URL("../../fixtures/workers/hang_when_threaded.ts", import.meta.url);
const alwaysHang = new URL("../../fixtures/workers/always_hang.ts", import.meta.url);

Deno.test("a warm-up that hangs with threads restarts, then falls back to 1 thread and says so", async () => {
  const session = await HostedSession.create(
    "wasm",
    "wasm",
    model,
    { threads: 2, warmup, hangTimeoutMs: 300 },
    2,
    {
      retries: 1,
      workerUrl: hangWhenThreaded,
    },
  );
  try {
    assert.equal(session.threads, 1);
    assert.equal(session.notes.length, 2, session.notes.join(" | "));
    assert.match(session.notes[0], /hung with 2 threads; restarted/);
    assert.match(session.notes[1], /fell back to 1 thread/);
    const out = await session.run(warmup);
    assert.deepEqual(Array.from(out.logits.data), [1, 2, 3, 4]);
  } finally {
    await session.release();
  }
});

Deno.test("a session that hangs even on 1 thread fails to load with EngineHangError (never reaches users)", async () => {
  await assert.rejects(
    HostedSession.create("wasm", "wasm", model, { threads: 1, warmup, hangTimeoutMs: 200 }, 1, {
      retries: 1,
      workerUrl: alwaysHang,
    }),
    EngineHangError,
  );
});

Deno.test("a run that hangs after warm-up is rejected and the worker is restarted", async () => {
  // No warm-up: the first run is the one that hangs.
  const session = await HostedSession.create(
    "wasm",
    "wasm",
    model,
    { threads: 1, hangTimeoutMs: 200 },
    1,
    { workerUrl: alwaysHang },
  );
  try {
    await assert.rejects(session.run(warmup), EngineHangError);
    assert.match(session.notes.at(-1)!, /worker restarted/);
  } finally {
    await session.release();
  }
});

Deno.test("sessions of one runtime share one engine host Worker; the last release ends it", async () => {
  const mine = () => liveHosts().filter((h) => h.key.includes("hang_when_threaded"));
  const opts = { threads: 1, warmup, hangTimeoutMs: 5_000 };
  const a = await HostedSession.create("wasm", "wasm", model, opts, 1, {
    workerUrl: hangWhenThreaded,
  });
  const b = await HostedSession.create("wasm", "wasm", model, opts, 1, {
    workerUrl: hangWhenThreaded,
  });
  try {
    assert.deepEqual(mine().map((h) => h.sessions), [2]);
    // the second session's run is answered by the same host, which has seen both loads
    const out = await b.run(warmup);
    assert.deepEqual(Array.from(out.loads.data), [2]);
    assert.deepEqual(Array.from((await a.run(warmup)).logits.data), [1, 2, 3, 4]);
  } finally {
    await a.release();
    assert.deepEqual(mine().map((h) => h.sessions), [1]);
    await b.release();
  }
  assert.deepEqual(mine(), []);
});

const echoSlow = new URL("../../fixtures/workers/echo_slow.ts", import.meta.url);
/** Host Workers of the scripted slow echo host alive now. */
const echoSlowHosts = () => liveHosts().filter((h) => h.key.includes("echo_slow"));

/** A one-thread, two-lane native session on the scripted slow echo host. */
function echoSlowSession(laneIdleMs: number): Promise<HostedSession> {
  return HostedSession.create(
    "native",
    "native",
    model,
    { threads: 1, warmup, lanes: 2, laneIdleMs, hangTimeoutMs: 5_000 },
    1,
    { workerUrl: echoSlow },
  );
}

Deno.test("engine lanes: a second copy loads when a run finds the first busy, then runs overlap on two hosts", async () => {
  const session = await echoSlowSession(0);
  try {
    assert.equal(session.lanes, 2);
    assert.equal(session.lanesLoaded, 1);
    assert.equal(echoSlowHosts().length, 1);
    // two at once: both go to the first lane (the second is only being loaded)
    await Promise.all([session.run(warmup), session.run(warmup)]);
    for (let i = 0; i < 100 && session.lanesLoaded < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(session.lanesLoaded, 2);
    assert.equal(echoSlowHosts().length, 2);
    const outs = await Promise.all([session.run(warmup), session.run(warmup)]);
    const hosts = new Set(outs.map((o) => o.host.data[0]));
    assert.equal(hosts.size, 2, "two runs at once ran on two hosts");
    assert.deepEqual(Array.from(outs[1].logits.data), [1, 2, 3, 4]);
  } finally {
    await session.release();
  }
  assert.deepEqual(echoSlowHosts(), []);
});

Deno.test("engine lanes: with laneIdleMs a second lane idle that long is released (its Worker ends) and loads again when needed", async () => {
  const session = await echoSlowSession(150);
  const waitFor = async (ok: () => boolean) => {
    for (let i = 0; i < 150 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
    return ok();
  };
  try {
    for (let round = 0; round < 2; round++) {
      await Promise.all([session.run(warmup), session.run(warmup)]); // brings up lane 2
      assert.ok(await waitFor(() => session.lanesLoaded === 2), `round ${round}: loaded`);
      assert.equal(echoSlowHosts().length, 2);
      assert.ok(await waitFor(() => session.lanesLoaded === 1), `round ${round}: released`);
      assert.equal(echoSlowHosts().length, 1); // the lane's host Worker ended
      assert.deepEqual(Array.from((await session.run(warmup)).logits.data), [1, 2, 3, 4]);
    }
  } finally {
    await session.release();
  }
  assert.deepEqual(echoSlowHosts(), []);
});
