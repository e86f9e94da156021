/**
 * Runs handed off the event loop go to the kernel library's run threads (`tu_run_pooled` in
 * kernels.c), in a process of their own (the threads and their counts are the process's, and
 * `deno test --parallel` runs other modules in this one): one workspace run after run keeps to
 * one thread; twenty at once take more, at most 16, and a run goes to the calling thread only
 * when all 16 are busy; every run gives the calling thread's values.
 */
import assert from "node:assert/strict";
import type { RunThreadCounts } from "../../../../src/engines/direct/kernels.ts";
import { scriptLine } from "../../../helpers/script_line.ts";

const SCRIPT = new URL("../../../fixtures/run_threads/run_threads_module.ts", import.meta.url);
/** The library's limit (TU_RUN_THREADS in kernels.c). */
const RUN_THREADS = 16;

Deno.test({
  name:
    "off-thread runs keep a workspace on one run thread, at most 16 threads, each run its own values",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const [start, serial, together] = await scriptLine<(RunThreadCounts | null)[]>(
      SCRIPT,
      "COUNTS",
    );
    assert.ok(start && serial && together, "a build with run threads");
    const none = { splitHelpers: 0, splitOnTwo: 0, splitOnOne: 0 };
    assert.deepEqual(start, { threads: 0, onRunThread: 0, onCaller: 0, sameThread: 0, ...none });
    assert.deepEqual(serial, { threads: 1, onRunThread: 6, onCaller: 0, sameThread: 5, ...none });
    assert.ok(together.threads > 1 && together.threads <= RUN_THREADS, JSON.stringify(together));
    assert.equal(together.onRunThread + together.onCaller, 6 + 20);
    if (together.onCaller > 0) assert.equal(together.threads, RUN_THREADS, "one was free");
  },
});
