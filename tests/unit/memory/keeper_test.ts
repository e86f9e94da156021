import assert from "node:assert/strict";
import { mallocControl } from "../../../src/memory/malloc.ts";
import { largeWork, MemoryKeeper } from "../../../src/memory/keeper.ts";
import { beginWork, takePeakInFlight } from "../../../src/memory/collect.ts";

// The project runs on glibc Linux (CI: Debian); elsewhere the control says why it is absent.
const control = mallocControl();

/** Runs a probe of tests/fixtures/memory/ in a process of its own; what it printed, as JSON. */
async function runProbe(name: string) {
  const probe = new URL(`../../fixtures/memory/${name}`, import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", probe.pathname],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0, `${name} exited with ${out.code}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test({
  name:
    "the keeper trims freed heap memory back to the system, at most once per interval, under load only a large transient",
  ignore: !control.available,
  async fn() {
    // in a process of its own: in the unit run other tests allocate between two RSS readings
    const r = await runProbe("trim_probe.ts");
    assert.ok(r.freeBefore > 60 * 2 ** 20, `free ${r.freeBefore}`);
    assert.equal(r.trimmed, true);
    // 63 MiB freed below a live block
    assert.ok(r.before - r.after > 48, `RSS ${r.before.toFixed(0)} → ${r.after.toFixed(0)} MiB`);
    assert.equal(r.trims, 1);
    assert.equal(r.withinInterval, false);
    // past the interval, nothing new freed and RSS flat: nothing to do
    assert.equal(r.pastIntervalFlat, false);
    // 32 MiB freed while a model runs stays (each trimmed page would be faulted in again)...
    assert.equal(r.busySmallTrimmed, false);
    // ...and goes at the first tick with no work
    assert.equal(r.quietTrimmed, true);
    // 96 MiB freed under load is a large transient: past the busy slack (64), trimmed
    assert.equal(r.busyLargeTrimmed, true);
  },
});

Deno.test({
  name:
    "with a busy interval, memory freed while models run waits that long; quiet ticks keep the short interval",
  ignore: !control.available,
  async fn() {
    const r = await runProbe("busy_interval_probe.ts");
    assert.deepEqual(r, { first: true, busyEarly: false, busyLate: true, quiet: true });
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
    // in a process of its own: the unit run's heap holds free chunks from earlier tests, which
    // glibc hands out before it looks at the mmap threshold
    const r = await runProbe("large_work_probe.ts");
    assert.ok(r.outsideOwn < 8, "below the 32 MiB threshold: from the heap");
    assert.equal(r.insideOwn, 8, "inside large work every block is mapped on its own");
    assert.equal(r.largeWorksInside, 1);
    assert.equal(r.largeWorksNested, 1, "nested and concurrent large works share one lowering");
    assert.equal(r.largeWorksAfter, 0);
    assert.equal(r.trims, 1, "the last one out trims");
    assert.ok(r.afterOwn < 8, "threshold restored");
  },
});

Deno.test({
  name: "large work is left on failure too; without a keeper the work just runs",
  ignore: !control.available,
  async fn() {
    const keeper = new MemoryKeeper({ intervalMs: 0, mmapThresholdBytes: 32 * 2 ** 20 });
    try {
      await assert.rejects(largeWork(() => Promise.reject(new Error("boom"))), /boom/);
      assert.equal(keeper.largeWorks, 0);
    } finally {
      keeper.stop();
    }
    assert.equal(await largeWork(() => Promise.resolve(7)), 7);
  },
});

/** A keeper that only collects (idleGcMs 50, started at time 0; ticks come from the test). */
function collectingKeeper(onStartCollected: (c: { before: number; after: number }) => void) {
  return new MemoryKeeper({
    intervalMs: 0,
    mmapThresholdBytes: 0,
    idleGcMs: 50,
    tickMs: 3_600_000,
    onStartCollected,
  }, 0);
}

Deno.test("with onStartCollected the keeper also collects once its first idleGcMs pass quietly, and reports that collection once", () => {
  const reports: { before: number; after: number }[] = [];
  const keeper = collectingKeeper((c) => reports.push(c));
  try {
    keeper.tick(30);
    assert.equal(keeper.state.collections, 0, "quiet 30 ms < 50: not yet");
    keeper.tick(60);
    assert.equal(keeper.state.collections, 1, "what start-up left, without any work");
    assert.equal(reports.length, 1);
    assert.ok(reports[0].before >= reports[0].after && reports[0].after > 0);
    keeper.tick(500);
    beginWork()(); // a run that began and ended
    keeper.tick(510);
    keeper.tick(600);
    assert.equal(keeper.state.collections, 2, "then once per quiet spell after work, as before");
    assert.equal(reports.length, 1, "only the first is reported");
  } finally {
    keeper.stop();
  }
});

Deno.test("a collection after work is not reported as the start-up one; a running model holds collections off", () => {
  const reports: unknown[] = [];
  const keeper = collectingKeeper((c) => reports.push(c));
  try {
    const end = beginWork(); // a tiled run lasting longer than idleGcMs
    keeper.tick(10);
    keeper.tick(100);
    keeper.tick(200);
    assert.equal(keeper.state.collections, 0, "nothing collected while a model runs");
    end();
    keeper.tick(220);
    assert.equal(keeper.state.collections, 0, "quiet only 20 ms after it ended");
    keeper.tick(260);
    assert.equal(keeper.state.collections, 1);
    assert.equal(reports.length, 0, "work came first: not start-up garbage alone");
  } finally {
    keeper.stop();
  }
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
    beginWork()(); // a run that began and ended
    keeper.tick(10); // the work count moved
    keeper.tick(40);
    assert.equal(keeper.state.collections, 0, "idle 30 ms < 50");
    keeper.tick(70);
    assert.equal(keeper.state.collections, 1);
    keeper.tick(500);
    assert.equal(keeper.state.collections, 1, "once per quiet spell");
    beginWork()(); // a run that began and ended
    keeper.tick(510);
    keeper.tick(600);
    assert.equal(keeper.state.collections, 2);
    assert.equal(keeper.state.trims, 0, "intervalMs 0: never trims");
  } finally {
    keeper.stop();
  }
});

Deno.test({
  name:
    "a quiet spell's collection is trimmed at once, whatever the interval and slack; not the next tick if work came back",
  ignore: !mallocControl().available,
  fn: quietSpellTrims,
});

function quietSpellTrims() {
  const keeper = new MemoryKeeper({
    intervalMs: 60_000, // the interval alone would not trim again in this test
    mmapThresholdBytes: 0,
    idleGcMs: 50,
    tickMs: 3_600_000, // ticks come from the test
  });
  try {
    keeper.tick(0); // the first tick may trim (nothing trimmed yet)
    const start = keeper.state.trims;
    beginWork()(); // a run that began and ended
    keeper.tick(10); // busy: the work count moved
    keeper.tick(40);
    assert.equal(keeper.state.trims, start, "idle 30 ms < 50: no collection, no trim");
    assert.equal(keeper.tick(70), true, "the collecting tick trims (nothing much freed)");
    assert.equal(keeper.state.collections, 1);
    beginWork()(); // work again before the next tick
    assert.equal(keeper.tick(1070), false, "busy: no trim after the collection's");
    assert.equal(keeper.tick(1100), false, "quiet again, no collection due yet: the interval");
    assert.equal(keeper.state.trims, start + 1);
  } finally {
    keeper.stop();
  }
}

Deno.test("onQuiet is called at each quiet spell's collection, before its trim, and at no other tick", () => {
  const calls: { trimsBefore: number }[] = [];
  const keeper: MemoryKeeper = new MemoryKeeper({
    intervalMs: 1,
    mmapThresholdBytes: 0,
    idleGcMs: 50,
    tickMs: 3_600_000, // ticks come from the test
    onQuiet: () => calls.push({ trimsBefore: keeper.state.trims }),
  });
  try {
    keeper.tick(0);
    beginWork()(); // a run that began and ended
    keeper.tick(10);
    keeper.tick(40);
    assert.equal(calls.length, 0, "not quiet long enough");
    const trims = keeper.state.trims;
    keeper.tick(70);
    assert.equal(calls.length, 1);
    if (control.available) {
      assert.equal(calls[0].trimsBefore, trims, "called before the collection's trim");
      assert.equal(keeper.state.trims, trims + 1);
    }
    keeper.tick(1000);
    keeper.tick(2000);
    assert.equal(calls.length, 1, "once per quiet spell");
    beginWork()();
    keeper.tick(2010);
    keeper.tick(2100);
    assert.equal(calls.length, 2, "the next quiet spell");
  } finally {
    keeper.stop();
  }
});

Deno.test("onQuiet is called at a quiet spell's collection with trims off too (TINYUNET_MALLOC_TRIM_MS=0)", () => {
  let calls = 0;
  const keeper = new MemoryKeeper({
    intervalMs: 0,
    mmapThresholdBytes: 0,
    idleGcMs: 50,
    tickMs: 3_600_000,
    onQuiet: () => calls++,
  });
  try {
    beginWork()();
    keeper.tick(10);
    keeper.tick(70);
    assert.equal(calls, 1);
    assert.equal(keeper.state.trims, 0);
  } finally {
    keeper.stop();
  }
});

Deno.test({
  name:
    "the tick after a quiet spell's collection trims again when more than the slack was freed meanwhile, whatever the interval; not when nothing was",
  ignore: !control.available,
  async fn() {
    const r = await runProbe("next_tick_trim_probe.ts");
    assert.equal(r.freed16.collectionTrimmed, true, JSON.stringify(r));
    assert.equal(r.freed0.collectionTrimmed, true, JSON.stringify(r));
    // more than the slack freed (or RSS grown by it, either counts) since the collection's trim
    assert.equal(r.freed16.nextTickTrimmed, true, JSON.stringify(r));
    assert.equal(r.freed0.nextTickTrimmed, false, JSON.stringify(r));
  },
});

Deno.test("onQuiet says whether two units of work were in flight at once since the previous quiet spell", () => {
  const spells: boolean[] = [];
  const keeper = new MemoryKeeper({
    intervalMs: 0,
    mmapThresholdBytes: 0,
    idleGcMs: 50,
    tickMs: 3_600_000,
    onQuiet: ({ overlapped }) => spells.push(overlapped),
  });
  try {
    takePeakInFlight(); // what other tests of this isolate left
    for (let i = 0; i < 3; i++) beginWork()(); // one after another
    keeper.tick(10);
    keeper.tick(70);
    const a = beginWork();
    const b = beginWork(); // two at once
    b();
    a();
    keeper.tick(1000);
    keeper.tick(1100);
    beginWork()(); // one alone again
    keeper.tick(2000);
    keeper.tick(2100);
    assert.deepEqual(spells, [false, true, false]);
  } finally {
    keeper.stop();
  }
});
