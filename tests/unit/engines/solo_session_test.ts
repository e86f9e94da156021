import assert from "node:assert/strict";
import { HostedSession } from "../../../src/engines/host_session.ts";

const model = { path: "m.onnx", bytes: new Uint8Array(4), externalData: [] };
const warmup = { image: { data: new Float32Array([1]), dims: [1] } };
const reportThreads = new URL("../../fixtures/workers/report_threads.ts", import.meta.url);

/** Threads of the session copy that served a run (the scripted host answers them). */
async function threadsOf(session: HostedSession): Promise<number> {
  return (await session.run(warmup)).logits.data[0];
}

/** A one-thread, two-lane native session on the scripted host, with `soloThreads` (and lanes released after `laneIdleMs`). */
function oneThreadSession(
  soloThreads: number,
  laneIdleMs = 0,
  othersWaiting?: () => number,
): Promise<HostedSession> {
  return HostedSession.create(
    "native",
    "native",
    model,
    { threads: 1, lanes: 2, soloThreads, warmup, laneIdleMs, othersWaiting },
    1,
    { workerUrl: reportThreads, soloLocal: false },
  );
}

Deno.test("a lone run uses the solo copy (more threads, spinning only within a run); overlapping runs use the one-thread lanes", async () => {
  const session = await oneThreadSession(2);
  try {
    // the first run loads the solo copy in the background: it runs on one thread
    assert.equal(await threadsOf(session), 1);
    let alone = 1;
    for (let i = 0; i < 50 && alone === 1; i++) alone = await threadsOf(session);
    assert.equal(alone, 2, "the solo copy never served a lone run");
    assert.equal(session.soloWhere, "worker", "soloLocal: false keeps it in the lane's Worker");
    const [out] = Object.values(await session.run(warmup));
    assert.equal(
      out.data[1],
      2,
      "by default the solo copy spins only within a run (TINYUNET_SOLO_SPIN=run)",
    );
    const before = session.soloRuns;
    const overlapping = await Promise.all([0, 1, 2, 3].map(() => threadsOf(session)));
    assert.equal(overlapping.filter((t) => t === 2).length, 1, `threads per run: ${overlapping}`);
    assert.equal(session.soloRuns, before + 1);
  } finally {
    await session.release();
  }
});

for (const [spin, code] of [["always", 1], ["off", 0]] as const) {
  Deno.test(`with soloSpin "${spin}" the solo copy is loaded with that spin mode`, async () => {
    const session = await oneThreadSession(2);
    session.soloSpin = spin;
    try {
      let out = (await session.run(warmup)).logits;
      for (let i = 0; i < 50 && out.data[0] === 1; i++) out = (await session.run(warmup)).logits;
      assert.deepEqual(
        [...out.data],
        [2, code],
        `a lone run on the solo copy, loaded with spin ${spin}`,
      );
    } finally {
      await session.release();
    }
  });
}

Deno.test("no solo copy when soloThreads is not above the session's threads", async () => {
  const session = await oneThreadSession(1);
  try {
    for (let i = 0; i < 5; i++) assert.equal(await threadsOf(session), 1);
    assert.equal(session.soloRuns, 0);
  } finally {
    await session.release();
  }
});

Deno.test("an idle solo copy is released with the idle lanes and comes back on the next lone run", async () => {
  const session = await oneThreadSession(2, 200);
  try {
    let alone = await threadsOf(session);
    for (let i = 0; i < 50 && alone === 1; i++) alone = await threadsOf(session);
    assert.equal(alone, 2);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(
      await threadsOf(session),
      1,
      "released: the first run after the pause runs on a lane",
    );
    for (let i = 0; i < 50 && alone === 1; i++) alone = await threadsOf(session);
    assert.equal(alone, 2, "loaded again");
  } finally {
    await session.release();
  }
});

Deno.test("a run uses the solo copy only while no other request waits for the model (othersWaiting)", async () => {
  let waiting = 0;
  const session = await oneThreadSession(2, 0, () => waiting);
  try {
    let alone = 1;
    for (let i = 0; i < 50 && alone === 1; i++) alone = await threadsOf(session);
    assert.equal(alone, 2, "with nothing else waiting, a lone run reaches the solo copy");
    // the solo copy is ready; another request admitted and not yet running: the lanes
    waiting = 1;
    const before = session.soloRuns;
    for (let i = 0; i < 10; i++) assert.equal(await threadsOf(session), 1);
    assert.equal(session.soloRuns, before);
    waiting = 0;
    assert.equal(await threadsOf(session), 2, "alone again: the solo copy");
  } finally {
    await session.release();
  }
});

Deno.test("a lane that failed to load is tried again once laneRetryMs has passed", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "ok");
  const session = await HostedSession.create(
    "native",
    "native",
    { path: `switch:${file}`, bytes: new Uint8Array(4), externalData: [] },
    { threads: 1, lanes: 2, warmup, laneIdleMs: 0 },
    1,
    { workerUrl: reportThreads, soloLocal: false, laneRetryMs: 100 },
  );
  const overlap = async (until: () => boolean) => {
    const deadline = Date.now() + 30_000; // a Worker's start may take seconds on a cold cache
    while (!until() && Date.now() < deadline) {
      await Promise.all([0, 1, 2].map(() => session.run(warmup)));
    }
  };
  try {
    await Deno.writeTextFile(file, "fail");
    await overlap(() => session.notes.some((n) => n.includes("failed to load")));
    assert.ok(session.notes.some((n) => /engine lane 1 failed to load: scripted/.test(n)));
    assert.equal(session.lanesLoaded, 1);
    await Deno.writeTextFile(file, "ok");
    await new Promise((r) => setTimeout(r, 150));
    await overlap(() => session.lanesLoaded === 2);
    assert.equal(session.lanesLoaded, 2, "the failed lane loaded again");
  } finally {
    await session.release();
    await Deno.remove(file);
  }
});

Deno.test("local first: a solo copy that cannot load on this isolate leaves the model to its lanes", async () => {
  const session = await HostedSession.create(
    "native",
    "native",
    model, // 4 bytes: onnxruntime refuses them on this isolate; the scripted host loads anything
    { threads: 1, lanes: 2, soloThreads: 2, warmup },
    1,
    { workerUrl: reportThreads, soloLocal: true, localFirst: true },
  );
  try {
    assert.equal(session.localFirst, false);
    assert.ok(session.notes.some((n) => /failed to load .*lanes in engine host Workers/.test(n)));
    assert.equal(session.soloWhere, undefined);
    for (let i = 0; i < 3; i++) assert.equal(await threadsOf(session), 1);
    assert.equal(session.soloRuns, 0);
  } finally {
    await session.release();
  }
});

Deno.test("with native arenas of their own (TINYUNET_NATIVE_ARENA=1, or the shared one not registered), the copy kept for the session's life is loaded afresh once idle, and serves on; runs closer together than laneIdleMs never let it renew", async () => {
  const session = await oneThreadSession(1, 100);
  try {
    assert.equal(await threadsOf(session), 1);
    assert.equal(session.renewals, 0);
    const deadline = performance.now() + 5000;
    while (session.renewals === 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(session.renewals, 1, "renewed after laneIdleMs without a run");
    assert.equal(await threadsOf(session), 1, "the fresh copy serves");
    // runs closer together than laneIdleMs: never idle long enough to be renewed
    for (let i = 0; i < 8; i++) {
      await threadsOf(session);
      await new Promise((r) => setTimeout(r, 30));
    }
    assert.equal(session.renewals, 1);
  } finally {
    await session.release();
  }
});
