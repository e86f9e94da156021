import assert from "node:assert/strict";
import { mallocControl } from "../../../src/memory/malloc.ts";
import { MemoryKeeper, residentMiB } from "../../../src/memory/keeper.ts";

// The project runs on glibc Linux (CI: Debian); elsewhere the control says why it is absent.
const control = mallocControl();

/** Leaves ~`mib` MiB of touched, freed memory inside glibc's heap (below a live block). */
function leaveFreedHeap(mib: number) {
  const libc = Deno.dlopen("libc.so.6", {
    malloc: { parameters: ["usize"], result: "pointer" },
    free: { parameters: ["pointer"], result: "void" },
    memset: { parameters: ["pointer", "i32", "usize"], result: "pointer" },
  });
  control.setMmapThreshold(32 * 2 ** 20); // 1 MiB blocks come from the heap, not mmap
  const blocks = [];
  for (let i = 0; i < mib; i++) {
    const p = libc.symbols.malloc(BigInt(2 ** 20));
    libc.symbols.memset(p, 1, BigInt(2 ** 20));
    blocks.push(p);
  }
  const top = blocks.pop()!; // stays live, so the freed blocks below it are not returned by free
  for (const p of blocks) libc.symbols.free(p);
  return () => {
    libc.symbols.free(top);
    control.setMmapThreshold(512 * 1024);
    libc.close();
  };
}

Deno.test({
  name: "the keeper trims freed heap memory back to the system, at most once per interval",
  ignore: !control.available,
  fn() {
    const keeper = new MemoryKeeper({ intervalMs: 60_000, mmapThresholdBytes: 0, slackMiB: 16 });
    const done = leaveFreedHeap(64);
    try {
      assert.ok(control.freeBytes()! > 60 * 2 ** 20, `free ${control.freeBytes()}`);
      const before = residentMiB()!;
      assert.equal(keeper.tick(), true);
      const after = residentMiB()!;
      // 63 MiB freed below a live block; the run's other tests allocate meanwhile (a drop of 48 seen)
      assert.ok(before - after > 32, `RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB`);
      assert.equal(keeper.state.trims, 1);
      assert.equal(keeper.tick(), false); // within the interval
      // past the interval, nothing new freed and RSS flat: nothing to do
      assert.equal(keeper.tick(performance.now() + 120_000), false);
    } finally {
      done();
      keeper.stop();
    }
  },
});

Deno.test({
  name: "a keeper fixes the mmap threshold when asked; its first tick trims, then only growth does",
  ignore: !control.available,
  fn() {
    const keeper = new MemoryKeeper({ intervalMs: 1, mmapThresholdBytes: 256 * 1024 });
    try {
      assert.equal(keeper.state.mmapThresholdBytes, 256 * 1024);
      assert.equal(new MemoryKeeper({ intervalMs: 0, mmapThresholdBytes: 0 }).state.trims, 0);
      assert.equal(keeper.tick(), true); // what start-up left
      assert.equal(keeper.tick(performance.now() + 10), false);
    } finally {
      keeper.stop();
    }
  },
});
