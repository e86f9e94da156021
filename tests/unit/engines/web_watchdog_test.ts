import assert from "node:assert/strict";
import { EngineHangError } from "../../../src/engines/engine.ts";
import { WebWorkerSession } from "../../../src/engines/onnx_web_session.ts";

const model = { path: "m.onnx", bytes: new Uint8Array(4), externalData: [] };
const warmup = { image: { data: new Float32Array([1, 2, 3, 4]), dims: [1, 1, 2, 2] } };
const hangWhenThreaded = new URL("../../fixtures/workers/hang_when_threaded.ts", import.meta.url);
const alwaysHang = new URL("../../fixtures/workers/always_hang.ts", import.meta.url);

Deno.test("a warm-up that hangs with threads restarts, then falls back to 1 thread and says so", async () => {
  const session = await WebWorkerSession.create(
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
    WebWorkerSession.create("wasm", "wasm", model, { threads: 1, warmup, hangTimeoutMs: 200 }, 1, {
      retries: 1,
      workerUrl: alwaysHang,
    }),
    EngineHangError,
  );
});

Deno.test("a run that hangs after warm-up is rejected and the worker is restarted", async () => {
  // No warm-up: the first run is the one that hangs.
  const session = await WebWorkerSession.create(
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
