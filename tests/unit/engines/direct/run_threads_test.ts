/**
 * Runs handed off the event loop go to the kernel library's run threads (`tu_run_pooled` in
 * kernels.c): one workspace run after run keeps to one thread, runs at once each get a thread
 * up to the library's 16, and the runs beyond them (on the calling thread of Deno's pool)
 * still give each image its own values.
 */
import assert from "node:assert/strict";
import { seededRandom, unetModel } from "../../../../lib/onnx_builder.ts";
import { nativeKernels, runThreads } from "../../../../src/engines/direct/kernels.ts";
import { DirectRunner, directRunner } from "../../../../src/engines/direct/runner.ts";

/** The library's limit (TU_RUN_THREADS in kernels.c). */
const RUN_THREADS = 16;

async function offThreadRunner(seed: number): Promise<DirectRunner> {
  const runner = await directRunner(
    unetModel({ width: 4, depth: 2, seed }),
    [],
    () => nativeKernels({ offThread: true }),
  );
  assert.ok(runner instanceof DirectRunner, "reason" in runner ? runner.reason : "");
  return runner;
}

function image(seed: number) {
  const random = seededRandom(seed);
  return { data: Float32Array.from({ length: 3 * 40 * 56 }, () => random()), dims: [1, 3, 40, 56] };
}

Deno.test({
  name:
    "off-thread runs go to the library's run threads, a bounded number, each run its own values",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const runner = await offThreadRunner(21);
    const onCaller = await directRunner(
      unetModel({ width: 4, depth: 2, seed: 21 }),
      [],
      () => nativeKernels({ offThread: false }),
    );
    assert.ok(onCaller instanceof DirectRunner);
    const inputs = Array.from({ length: RUN_THREADS + 4 }, (_, i) => image(i));
    const want: Float32Array[] = [];
    for (const input of inputs) {
      want.push((await onCaller.run({ image: input })).outputs.logits.data.slice());
    }

    const before = await runThreads();
    for (const input of inputs.slice(0, 6)) await runner.run({ image: input });
    const afterSerial = await runThreads();
    assert.ok(afterSerial >= 1, "a run thread ran them");
    assert.ok(
      afterSerial <= before + 1,
      `runs one after another: ${before} → ${afterSerial} threads`,
    );

    const together = await Promise.all(inputs.map((input) => runner.run({ image: input })));
    together.forEach((r, i) => assert.deepEqual(r.outputs.logits.data, want[i], `image ${i}`));
    const after = await runThreads();
    assert.ok(after > afterSerial, "runs at once took more run threads");
    assert.ok(after <= RUN_THREADS, `${after} run threads`);
    await runner.release();
    await onCaller.release();
  },
});
