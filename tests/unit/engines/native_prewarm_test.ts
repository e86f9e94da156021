/**
 * onnxruntime's start-up prewarm: when it runs (a passing native probe verdict cached for this
 * host and add-on, native or auto engine, Linux, FFI) and why not otherwise; in child processes,
 * the library is mapped when the prewarm starts, the binding then shares that one library, and
 * its sessions give the probe's known answer, whether made after the prewarm or during it;
 * importing `early.ts` without the permissions it needs skips it instead of throwing. The
 * entries import `early.ts` first, and nothing but `process_exit.ts` ends the process.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { prewarmSkipReason } from "../../../src/engines/native_probe/prewarm.ts";
import {
  nativeProbeOptions,
  probeCacheFile,
  probeKey,
  probeNative,
} from "../../../src/engines/native_probe/probe.ts";
import { PROBE_TOLERANCE, probeError } from "../../../src/engines/native_probe/reference.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

async function withCache(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-prewarm-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("prewarm decision: each start it does not apply to says why", async () => {
  await withCache((dir) => {
    const env = { TINYUNET_NATIVE_PROBE_CACHE: dir };
    assert.equal(prewarmSkipReason(env), "no cached native probe verdict");
    assert.equal(prewarmSkipReason({ ...env, TINYUNET_ENGINE: "wasm" }), "engine wasm");
    assert.equal(
      prewarmSkipReason({ ...env, TINYUNET_NATIVE_PREWARM: "0" }),
      "TINYUNET_NATIVE_PREWARM=0",
    );
    assert.equal(
      prewarmSkipReason({ ...env, TINYUNET_NATIVE_PROBE: "always" }),
      "TINYUNET_NATIVE_PROBE=always",
    );
    assert.equal(
      prewarmSkipReason({ ...env, TINYUNET_NATIVE_PROBE_MODULE: "/x.ts" }),
      "the native probe tests a stand-in module",
    );
    assert.equal(
      prewarmSkipReason({ TINYUNET_NATIVE_PROBE_CACHE: "off" }),
      "no cache folder",
    );
    assert.match(prewarmSkipReason({ ...env, TINYUNET_ENGINE: "cuda" })!, /^cannot tell: unknown/);
    assert.match(prewarmSkipReason({ ...env, TINYUNET_NATIVE_PREWARM: "yes" })!, /^cannot tell: /);
  });
});

Deno.test("prewarm decision: yes with a passing verdict, no with a failed or foreign one", async () => {
  await withCache(async (dir) => {
    const env = { TINYUNET_NATIVE_PROBE_CACHE: dir };
    const options = nativeProbeOptions(env);
    const verdict = await probeNative(options); // the real child, cached in `dir`
    assert.ok(verdict.ok, verdict.reason);
    assert.equal(prewarmSkipReason(env), null);
    assert.equal(prewarmSkipReason({ ...env, TINYUNET_ENGINE: "native" }), null);

    const file = probeCacheFile(options)!;
    const failed = { ...verdict, ok: false, outcome: "crashed", reason: "crashed (SIGSEGV)" };
    await Deno.writeTextFile(file, JSON.stringify({ ...failed, key: probeKey(options) }));
    assert.equal(prewarmSkipReason(env), "native probe failed: crashed (SIGSEGV)");
    // an entry written for another key (another host or add-on) is no verdict
    await Deno.writeTextFile(file, JSON.stringify({ ...verdict, key: "another host" }));
    assert.equal(prewarmSkipReason(env), "no cached native probe verdict");
  });
});

/** Runs a fixture with these permission flags and arguments; its last stdout line, parsed. */
async function child(flags: string[], script: string, scriptArgs: string[] = []) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, script, ...scriptArgs],
    cwd: ROOT,
    env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
}

for (const race of [false, true]) {
  const when = race ? "while the environment is being made" : "after it";
  Deno.test(`prewarm: one onnxruntime for the prewarm and the add-on, whose session made ${when} answers right`, async () => {
    const answer = await child(["--allow-all"], "tests/fixtures/native_prewarm/child.ts", [
      ...(race ? ["race"] : []),
    ]);
    assert.equal(answer.before, false);
    assert.equal(answer.after, true);
    assert.equal(answer.libraries.length, 1, answer.libraries.join(", "));
    assert.equal(answer.prewarm.done, true, answer.prewarm.reason);
    assert.ok(probeError(answer.output) <= PROBE_TOLERANCE, JSON.stringify(answer.output));
  });
}

Deno.test("importing early.ts without env or ffi permission skips the prewarm and says why", async () => {
  const script = "tests/fixtures/native_prewarm/import_early.ts";
  const noEnv = await child(["--allow-read", "--allow-ffi"], script);
  assert.equal(noEnv.done, false);
  assert.match(noEnv.reason, /^cannot tell: .*env/i);
  await withCache(async (dir) => {
    const options = nativeProbeOptions({ TINYUNET_NATIVE_PROBE_CACHE: dir });
    assert.ok((await probeNative(options)).ok);
    const noFfi = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-read", "--allow-env", "--allow-sys", script],
      cwd: ROOT,
      env: { TINYUNET_NATIVE_PROBE_CACHE: dir, ONNXRUNTIME_NODE_INSTALL: "skip" },
    }).output();
    assert.equal(noFfi.code, 0, new TextDecoder().decode(noFfi.stderr));
    const result = JSON.parse(new TextDecoder().decode(noFfi.stdout).trim());
    assert.deepEqual(result, { done: false, reason: "no --allow-ffi for onnxruntime's library" });
  });
});

Deno.test("importing mod.ts (a library user) prewarms nothing, even with a passing verdict cached", async () => {
  await withCache(async (dir) => {
    assert.ok((await probeNative(nativeProbeOptions({ TINYUNET_NATIVE_PROBE_CACHE: dir }))).ok);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-all", "tests/fixtures/native_prewarm/import_mod.ts"],
      cwd: ROOT,
      env: { TINYUNET_NATIVE_PROBE_CACHE: dir, ONNXRUNTIME_NODE_INSTALL: "skip" },
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout).trim()), { mapped: false });
  });
});

Deno.test("the server's entries import early.ts before anything else", async () => {
  for (const entry of ["main.ts", "serve.ts"]) {
    const text = await Deno.readTextFile(`${ROOT}${entry}`);
    const first = /^import\s[^;]*?["']([^"']+)["']/m.exec(text);
    assert.equal(first?.[1], "./src/engines/native_probe/early.ts", entry);
  }
});

Deno.test("only process_exit.ts ends the server's process (after the prewarm)", async () => {
  const files = ["main.ts", "serve.ts"];
  for await (const entry of Deno.readDir(`${ROOT}src`)) {
    files.push(...await tsFiles(`src/${entry.name}`, entry.isDirectory));
  }
  const exiting = [];
  for (const file of files) {
    if (/Deno\.exit\(/.test(await Deno.readTextFile(`${ROOT}${file}`))) exiting.push(file);
  }
  assert.deepEqual(exiting, ["src/process_exit.ts"]);
});

async function tsFiles(path: string, dir: boolean): Promise<string[]> {
  if (!dir) return path.endsWith(".ts") ? [path] : [];
  const out: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}${path}`)) {
    out.push(...await tsFiles(`${path}/${e.name}`, e.isDirectory));
  }
  return out;
}
