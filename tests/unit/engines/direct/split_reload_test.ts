/**
 * The split runs' helper thread and its library stay together: `deno test` (like any runtime
 * that ends) closes the libraries a module opened, and a library unloaded and mapped again
 * under a sleeping helper left the next module's split run waiting forever (its condition
 * variable reset under the old helper; seen as a hung unit-test run). The build's `-z
 * nodelete` keeps it loaded: three modules in turn each make their split runs, and the
 * library's counts go on from module to module (a library mapped again would start them at
 * zero, with a second helper).
 */
import assert from "node:assert/strict";
import type { RunThreadCounts } from "../../../../src/engines/direct/kernels.ts";

const FOLDER = new URL("../../../fixtures/split_runs/", import.meta.url);

Deno.test({
  name:
    "modules that open the kernel library one after another each make their split runs, with one helper thread",
  ignore: Deno.build.os !== "linux" || (navigator.hardwareConcurrency ?? 1) < 2,
  async fn() {
    const files = ["first.ts", "second.ts", "third.ts"].map((f) => new URL(f, FOLDER).pathname);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", "--no-check", ...files],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const out = await child;
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, text.slice(-2000));
    const counts = [...text.matchAll(/COUNTS (.*)/g)].map((m) =>
      JSON.parse(m[1]) as RunThreadCounts | null
    );
    assert.equal(counts.length, 3, text.slice(-2000));
    const split = counts.map((c) => {
      assert.ok(c, "a build with threads");
      assert.equal(c.splitHelpers, 1, "one helper thread");
      return c.splitOnTwo;
    });
    assert.ok(split[0] >= 1 && split[1] > split[0] && split[2] > split[1], `split runs: ${split}`);
  },
});
