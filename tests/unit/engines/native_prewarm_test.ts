/**
 * onnxruntime's start-up prewarm: when it runs (a passing native probe verdict cached for this
 * host and add-on, native or auto engine, Linux, FFI) and why not otherwise; in a child process,
 * the library is mapped and the environment made before onnxruntime-node is imported, and the
 * binding's sessions then give the probe's known answer. The entries import `early.ts` first.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { prewarmDecision } from "../../../src/engines/native_probe/prewarm.ts";
import {
  nativeProbeOptions,
  probeCacheFile,
  probeKey,
  probeNative,
} from "../../../src/engines/native_probe/probe.ts";
import { PROBE_TOLERANCE, probeError } from "../../../src/engines/native_probe/reference.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

async function withCache(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-prewarm-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("prewarm decision: each start it does not apply to says why", async () => {
  await withCache(async (dir) => {
    const env = { TINYUNET_NATIVE_PROBE_CACHE: dir };
    assert.equal(prewarmDecision(env), "no cached native probe verdict");
    assert.equal(prewarmDecision({ ...env, TINYUNET_ENGINE: "wasm" }), "engine wasm");
    assert.equal(
      prewarmDecision({ ...env, TINYUNET_NATIVE_PREWARM: "0" }),
      "TINYUNET_NATIVE_PREWARM=0",
    );
    assert.equal(
      prewarmDecision({ ...env, TINYUNET_NATIVE_PROBE: "always" }),
      "TINYUNET_NATIVE_PROBE=always",
    );
    assert.equal(
      prewarmDecision({ ...env, TINYUNET_NATIVE_PROBE_MODULE: "/x.ts" }),
      "the native probe tests a stand-in module",
    );
    assert.match(prewarmDecision({ ...env, TINYUNET_ENGINE: "cuda" })!, /^settings: unknown/);
    assert.match(prewarmDecision({ ...env, TINYUNET_NATIVE_PREWARM: "yes" })!, /^settings: /);
    await Promise.resolve();
  });
});

Deno.test("prewarm decision: yes with a passing verdict, no with a failed or foreign one", async () => {
  await withCache(async (dir) => {
    const env = { TINYUNET_NATIVE_PROBE_CACHE: dir };
    const options = nativeProbeOptions(env);
    const verdict = await probeNative(options); // the real child, cached in `dir`
    assert.ok(verdict.ok, verdict.reason);
    assert.equal(prewarmDecision(env), null);
    assert.equal(prewarmDecision({ ...env, TINYUNET_ENGINE: "native" }), null);

    const file = probeCacheFile(options)!;
    const failed = { ...verdict, ok: false, outcome: "crashed", reason: "crashed (SIGSEGV)" };
    await Deno.writeTextFile(file, JSON.stringify({ ...failed, key: probeKey(options) }));
    assert.equal(prewarmDecision(env), "native probe failed: crashed (SIGSEGV)");
    // an entry written for another key (another host or add-on) is no verdict
    await Deno.writeTextFile(file, JSON.stringify({ ...verdict, key: "another host" }));
    assert.equal(prewarmDecision(env), "no cached native probe verdict");
  });
});

Deno.test("prewarm: onnxruntime is loaded and set up before the add-on, whose sessions answer right", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", "tests/fixtures/native_prewarm/child.ts"],
    cwd: ROOT,
    env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const answer = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
  assert.equal(answer.before, false);
  assert.equal(answer.after, true);
  assert.equal(answer.prewarm.done, true, answer.prewarm.reason);
  assert.ok(probeError(answer.output) <= PROBE_TOLERANCE, JSON.stringify(answer.output));
});

Deno.test("the server's entries import early.ts before anything else", async () => {
  for (const entry of ["main.ts", "serve.ts"]) {
    const text = await Deno.readTextFile(`${ROOT}${entry}`);
    const first = /^import\s[^;]*?["']([^"']+)["']/m.exec(text);
    assert.equal(first?.[1], "./src/engines/native_probe/early.ts", entry);
  }
});
