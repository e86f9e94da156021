import assert from "node:assert/strict";
import { mallocControl } from "../../../src/memory/malloc.ts";
import { largeWork, MemoryKeeper } from "../../../src/memory/keeper.ts";
import { noteWork } from "../../../src/memory/collect.ts";

// The project runs on glibc Linux (CI: Debian); elsewhere the control says why it is absent.
const control = mallocControl();

Deno.test({
  name: "the keeper trims freed heap memory back to the system, at most once per interval",
  ignore: !control.available,
  async fn() {
    // in a process of its own: in the unit run other tests allocate between two RSS readings
    const probe = new URL("../../fixtures/memory/trim_probe.ts", import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", probe.pathname],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.equal(out.code, 0);
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.ok(r.freeBefore > 60 * 2 ** 20, `free ${r.freeBefore}`);
    assert.equal(r.trimmed, true);
    // 63 MiB freed below a live block
    assert.ok(r.before - r.after > 48, `RSS ${r.before.toFixed(0)} → ${r.after.toFixed(0)} MiB`);
    assert.equal(r.trims, 1);
    assert.equal(r.withinInterval, false);
    // past the interval, nothing new freed and RSS flat: nothing to do
    assert.equal(r.pastIntervalFlat, false);
  },
});

Deno.test({
  // (that later ticks trim only after growth is checked in trim_probe's own process above:
  // here other threads of the unit run may free memory between two ticks)
  name: "a keeper fixes the mmap threshold when asked; its first tick trims",
  ignore: !control.available,
  fn() {
    const keeper = new MemoryKeeper({ intervalMs: 1, mmapThresholdBytes: 256 * 1024 });
    try {
      assert.equal(keeper.state.mmapThresholdBytes, 256 * 1024);
      assert.equal(new MemoryKeeper({ intervalMs: 0, mmapThresholdBytes: 0 }).state.trims, 0);
      assert.equal(keeper.tick(), true); // what start-up left
      assert.equal(keeper.state.trims, 1);
    } finally {
      keeper.stop();
    }
  },
});

Deno.test({
  name: "large work maps its blocks on their own (released when freed), then the threshold returns",
  ignore: !control.available,
  async fn() {
    const keeper = new MemoryKeeper({ intervalMs: 0, mmapThresholdBytes: 32 * 2 ** 20 });
    const twoMiB = () => Array.from({ length: 8 }, () => new Uint8Array(2 * 2 ** 20).fill(1));
    // glibc puts a block mapped on its own 16 bytes into a fresh page; a heap block lands
    // there 1 time in 256 (the process-wide mapped-bytes count moved with other threads'
    // blocks: a Worker of an earlier test ending meanwhile once read "+0 bytes")
    const ownMapping = (a: Uint8Array) =>
      Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a))) % 4096 === 16;
    try {
      const outside = twoMiB();
      assert.ok(!outside.every(ownMapping), "below the 32 MiB threshold: from the heap");
      const inside = await largeWork(async () => {
        assert.equal(keeper.largeWorks, 1);
        // nested and concurrent large works share one lowering
        await Promise.all([largeWork(() => Promise.resolve()), largeWork(() => Promise.resolve())]);
        assert.equal(keeper.largeWorks, 1);
        return twoMiB();
      });
      assert.ok(inside.every(ownMapping), "inside large work every block is mapped on its own");
      assert.equal(keeper.largeWorks, 0);
      assert.equal(keeper.state.trims, 1, "the last one out trims");
      const after = twoMiB();
      assert.ok(!after.every(ownMapping), "threshold restored");
      for (const a of [...outside, ...inside, ...after]) a.buffer.transfer(0);
      await assert.rejects(largeWork(() => Promise.reject(new Error("boom"))), /boom/);
      assert.equal(keeper.largeWorks, 0, "left on failure too");
    } finally {
      keeper.stop();
    }
    // no keeper running: the work just runs
    assert.equal(await largeWork(() => Promise.resolve(7)), 7);
  },
});

Deno.test("with idleGcMs the keeper collects this isolate's garbage once work has stopped that long, once per quiet spell", () => {
  const keeper = new MemoryKeeper({
    intervalMs: 0, // no trims: this is about collections
    mmapThresholdBytes: 0,
    idleGcMs: 50,
    tickMs: 3_600_000, // ticks come from the test
  });
  try {
    assert.equal(keeper.tick(0), false);
    assert.equal(keeper.state.collections, 0, "no work since it started");
    noteWork();
    keeper.tick(10); // the work count moved
    keeper.tick(40);
    assert.equal(keeper.state.collections, 0, "idle 30 ms < 50");
    keeper.tick(70);
    assert.equal(keeper.state.collections, 1);
    keeper.tick(500);
    assert.equal(keeper.state.collections, 1, "once per quiet spell");
    noteWork();
    keeper.tick(510);
    keeper.tick(600);
    assert.equal(keeper.state.collections, 2);
    assert.equal(keeper.state.trims, 0, "intervalMs 0: never trims");
  } finally {
    keeper.stop();
  }
});
