/**
 * Split runs in the kernel library (`tu_run_split` in kernels.c), in a process of their own
 * (the helper thread and its counts are the process's): held to every vector width this CPU
 * runs (AVX-512, AVX2 and SSE2 on such an x86-64 host), each gives the one-thread run's values
 * bit for bit; two isolates making split runs at once share the one helper: a run that finds
 * it taken runs on its own thread, with the same values.
 */
import assert from "node:assert/strict";
import type { KernelWidth, RunThreadCounts } from "../../../../src/engines/direct/kernels.ts";
import { scriptLine } from "../../../helpers/script_line.ts";

const SCRIPT = new URL("../../../fixtures/split_runs/split_widths_module.ts", import.meta.url);

interface Result {
  widths: KernelWidth[];
  sizes: number;
  afterWidths: RunThreadCounts | null;
  workers: ({ runs: number } | { error: string } | "ready")[];
  end: RunThreadCounts | null;
}

Deno.test({
  name:
    "split runs at every width give the one-thread values; two isolates at once share the helper",
  ignore: Deno.build.os !== "linux" || Deno.build.arch !== "x86_64",
  async fn() {
    const r = await scriptLine<Result>(SCRIPT, "RESULT");
    assert.ok(r.widths.includes("v1"), `SSE2 runs on every x86-64: ${r.widths}`);
    assert.ok(r.afterWidths && r.end, "a build with threads");
    // nothing else ran: every split run of the widths' step had the helper
    assert.equal(r.afterWidths.splitHelpers, 1);
    assert.deepEqual(
      [r.afterWidths.splitOnTwo, r.afterWidths.splitOnOne],
      [r.widths.length * r.sizes, 0],
    );
    const runs = r.workers.map((w) => {
      assert.ok(typeof w === "object" && "runs" in w, JSON.stringify(r.workers));
      return w.runs;
    });
    const two = r.end.splitOnTwo - r.afterWidths.splitOnTwo;
    const one = r.end.splitOnOne - r.afterWidths.splitOnOne;
    assert.equal(two + one, runs[0] + runs[1], `on two ${two}, on one ${one}; runs ${runs}`);
    assert.equal(r.end.splitHelpers, 1, "one helper for both isolates");
    // the Workers run until some run found the helper taken (2000 runs each at most)
    assert.ok(one > 0 && two > 0, `on two ${two}, on one ${one}; runs ${runs}`);
  },
});
