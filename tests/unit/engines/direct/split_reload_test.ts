/**
 * The split runs' helper thread and its library stay together: `deno test` (like any runtime
 * that ends) closes the libraries a module opened, and a library unloaded and mapped again
 * under a sleeping helper left the next module's split run waiting forever (its condition
 * variable reset under the old helper; seen as a hung unit-test run). The build's `-z
 * nodelete` keeps it loaded: three modules in turn each make their split runs, and the
 * process starts no second helper.
 */
import assert from "node:assert/strict";

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
    const threads = [...text.matchAll(/THREADS (\d+)/g)].map((m) => Number(m[1]));
    assert.equal(threads.length, 3, text.slice(-2000));
    assert.ok(threads[2] <= threads[1], `a helper thread per module: ${threads.join(", ")}`);
  },
});
