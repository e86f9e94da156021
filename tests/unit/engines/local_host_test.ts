/**
 * The native solo copy on the HTTP isolate: it loads, runs and releases like a Worker host,
 * and a lone run of a real native session goes to it and answers what a lane answers.
 */
import assert from "node:assert/strict";
import { unetModel } from "../../../lib/onnx_builder.ts";
import { LocalHost } from "../../../src/engines/local_host.ts";
import { HostedSession } from "../../../src/engines/host_session.ts";

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

Deno.test("a lone run goes to the solo copy on this isolate and answers what a lane answers", async () => {
  const session = await HostedSession.create(
    "native",
    "native",
    { path: "unet.onnx", bytes, externalData: [] },
    { threads: 1, lanes: 2, soloThreads: 2, warmup: input() },
    1,
  );
  try {
    // the first run (on the lane) loads the solo copy in the background
    const onLane = await session.run(input());
    for (let i = 0; i < 100 && session.soloRuns === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const out = await session.run(input());
      if (session.soloRuns > 0) {
        const a = onLane.logits.data, b = out.logits.data;
        assert.ok(a.every((v, k) => Math.abs(v - b[k]) < 1e-4), "solo and lane outputs agree");
      }
    }
    assert.ok(session.soloRuns > 0, "no lone run reached the solo copy");
    assert.equal(session.soloWhere, "local");
  } finally {
    await session.release();
  }
});

Deno.test("a solo run pending on the HTTP isolate sends another model's lone run to its lane", async () => {
  const open = (seed: number) =>
    HostedSession.create(
      "native",
      "native",
      {
        path: `unet${seed}.onnx`,
        bytes: unetModel({ width: 4, depth: 3, seed }),
        externalData: [],
      },
      { threads: 1, lanes: 2, soloThreads: 2, warmup: input() },
      1,
    );
  const [a, b] = [await open(4), await open(5)];
  try {
    for (const s of [a, b]) {
      for (let i = 0; i < 100 && s.soloRuns === 0; i++) {
        await s.run(input());
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(s.soloRuns > 0, "the solo copy never served a lone run");
    }
    const before = b.soloRuns;
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
