/**
 * The process's shared native arena (`native_arena.ts`): sessions on it answer as with arenas
 * of their own, a shrink gives what the runs left back and runs go on after it (a child
 * process, for its resident memory); shrinks are counted; a hosted session on it is not renewed
 * when idle but has the arena shrunk. (When the quiet spell shrinks: keeper_test.ts, onQuiet.)
 */
import assert from "node:assert/strict";
import {
  arenaShrinks,
  nativeArenaShared,
  shareNativeArena,
  shrinkNativeArena,
} from "../../../src/engines/native_arena.ts";
import { HostedSession } from "../../../src/engines/host_session.ts";
import { RELU_MODEL_BASE64 } from "../../../src/engines/native_arena.ts";
import { DataType, decodeModel, encodeModel } from "../../../src/onnx/proto.ts";

/** Runs a fixture (tests/fixtures/…) in a process of its own; what it printed, as JSON. */
async function runChild(fixture: string) {
  const path = new URL(`../../fixtures/${fixture}`, import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", path],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0, `${fixture} exited with ${out.code} (signal ${out.signal})`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("the shrink run's model is y = Relu(x) on one float, as encodeModel writes it", () => {
  const bytes = Uint8Array.from(atob(RELU_MODEL_BASE64), (c) => c.charCodeAt(0));
  const tensor = (name: string) => ({
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
  });
  const expected = encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "arena_shrink",
      node: [{ opType: "Relu", input: ["x"], output: ["y"] }],
      input: [tensor("x")],
      output: [tensor("y")],
    },
  });
  assert.deepEqual(bytes, new Uint8Array(expected));
  assert.equal(decodeModel(bytes).graph?.node?.[0].opType, "Relu");
});

Deno.test("shared arena: the same answers as an arena of the session's own; a shrink gives back what a run left (> 2 MiB of the ISIC student's ~6) and runs go on after each", async () => {
  const seen = await runChild("memory/shared_arena_probe.ts");
  assert.deepEqual(seen.share, { shared: true });
  assert.equal(seen.first, true, "shared-arena output differs from the own-arena one");
  assert.equal(seen.later, true, "output differs after a shrink");
  assert.deepEqual(seen.shrunk, [true, true, true, true]);
  assert.ok(seen.freedMiB > 2, `a shrink and trim freed only ${seen.freedMiB.toFixed(1)} MiB`);
});

Deno.test("shrinks are counted once the arena is shared, and each succeeds", async () => {
  assert.deepEqual(await shareNativeArena(), { shared: true });
  assert.equal(nativeArenaShared(), true);
  const before = arenaShrinks();
  assert.equal(shrinkNativeArena(), true);
  assert.equal(shrinkNativeArena(), true);
  assert.equal(arenaShrinks(), before + 2);
});

Deno.test("a hosted native session on the shared arena is not renewed once idle: the arena is shrunk instead", async () => {
  assert.deepEqual(await shareNativeArena(), { shared: true });
  const warmup = { image: { data: new Float32Array([1]), dims: [1] } };
  const session = await HostedSession.create(
    "native",
    "native",
    { path: "m.onnx", bytes: new Uint8Array(4), externalData: [] },
    { threads: 1, lanes: 2, soloThreads: 1, warmup, laneIdleMs: 100 },
    1,
    {
      workerUrl: new URL("../../fixtures/workers/report_threads.ts", import.meta.url),
      soloLocal: false,
    },
  );
  try {
    const before = arenaShrinks();
    await session.run(warmup);
    const deadline = performance.now() + 5000;
    while (arenaShrinks() === before && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(arenaShrinks(), before + 1, "shrunk after laneIdleMs without a run");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(session.renewals, 0, "no copy loaded afresh");
    assert.equal(arenaShrinks(), before + 1, "once per idle spell");
  } finally {
    await session.release();
  }
});

Deno.test("the arena's outcome reaches a listener registered before the first native session asks (not earlier), and one registered after", async () => {
  const r = await runChild("engines/arena_outcome.ts");
  assert.equal(r.early, 0, "heard before anything asked");
  assert.deepEqual(r.seen, [
    { when: "before", outcome: { shared: true } },
    { when: "after", outcome: { shared: true } },
  ]);
});
