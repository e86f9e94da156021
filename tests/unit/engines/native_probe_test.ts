/**
 * The native engine's child-process probe: the embedded model is the reference network,
 * the real onnxruntime-node passes, and add-ons that segfault, hang, throw or answer wrong
 * fail with a reason (tests/fixtures/native_addons/) — the test process survives them all.
 * Results are cached per host + version (hangs are not), `always` re-probes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROBE_MODEL_BASE64 } from "../../../src/engines/native_probe/model.ts";
import {
  type NativeProbeOptions,
  nativeProbeOptions,
  probeNative,
  runChild,
} from "../../../src/engines/native_probe/probe.ts";
import { probeError, probeReference } from "../../../src/engines/native_probe/reference.ts";
import { probeModelBase64 } from "../../helpers/native_probe_model.ts";

const addon = (name: string) =>
  fileURLToPath(new URL(`../../fixtures/native_addons/${name}.ts`, import.meta.url));

function options(overrides: Partial<NativeProbeOptions> = {}): NativeProbeOptions {
  return { ...nativeProbeOptions({}), cacheDir: null, timeoutMs: 30_000, ...overrides };
}

Deno.test("the embedded probe model is exactly the reference network", () => {
  assert.equal(PROBE_MODEL_BASE64, probeModelBase64());
  const ref = probeReference();
  assert.equal(ref.length, 64);
  // not a degenerate answer: the sigmoid outputs spread out
  assert.ok(Math.max(...ref) - Math.min(...ref) > 0.3);
  assert.equal(probeError(ref), 0);
  assert.equal(probeError(new Float64Array(63)), Infinity);
  assert.equal(probeError(ref.map((v, i) => (i === 5 ? NaN : v))), Infinity);
});

Deno.test("the real onnxruntime-node passes the probe", async () => {
  const result = await runChild(options());
  assert.equal(result.outcome, "ok", result.reason);
  assert.ok(result.ok);
  assert.match(result.reason, /native probe passed \(onnxruntime-node 1\.30\.0/);
});

Deno.test("a segfaulting add-on: the child dies of SIGSEGV, the probe says so", async () => {
  const result = await runChild(options({ module: addon("segfault") }));
  assert.equal(result.ok, false);
  assert.equal(result.outcome, "crashed");
  assert.match(result.reason, /crashed \(SIGSEGV\)/);
});

Deno.test("a hanging add-on: the child is killed at the timeout", async () => {
  const t0 = performance.now();
  const result = await runChild(options({ module: addon("hang"), timeoutMs: 1500 }));
  const ms = performance.now() - t0;
  assert.equal(result.outcome, "hung");
  assert.match(result.reason, /did not finish within 1500 ms/);
  assert.ok(ms >= 1400 && ms < 15_000, `took ${ms} ms`);
});

Deno.test("a wrong-answering add-on fails with the error size", async () => {
  const result = await runChild(options({ module: addon("wrong_answer") }));
  assert.equal(result.outcome, "wrong-answer");
  assert.match(
    result.reason,
    /wrong answer \(onnxruntime-node wrong-answer double: max \|error\| [\d.]+e-1 > 0\.0001\)/,
  );
});

Deno.test("an add-on that throws on load: the child exits non-zero with the message", async () => {
  const result = await runChild(options({ module: addon("throws") }));
  assert.equal(result.outcome, "exited");
  assert.match(result.reason, /exit code 1.*cannot open shared object file/);
});

Deno.test("a launcher that cannot start: a failure with the reason, not a throw", async () => {
  const result = await runChild(options({ launcher: ["/nonexistent/emulator"] }));
  assert.equal(result.ok, false);
  assert.match(result.reason, /could not start/);
});

Deno.test("results are cached per host + version; always re-probes; hangs are not cached", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-probe-cache-" });
  try {
    const crash = options({ cacheDir: dir, module: addon("segfault") });
    const first = await probeNative(crash);
    assert.equal(first.cached, false);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.equal(files.length, 1);
    assert.match(files[0], /^native-probe-[0-9a-f]{16}\.json$/);
    const stored = JSON.parse(await Deno.readTextFile(join(dir, files[0])));
    assert.match(stored.key, /x86_64|aarch64/);
    const second = await probeNative(crash);
    assert.equal(second.cached, true);
    assert.equal(second.reason, first.reason);
    assert.equal(second.probedAt, first.probedAt);
    const again = await probeNative({ ...crash, mode: "always" });
    assert.equal(again.cached, false);
    assert.notEqual(again.probedAt, first.probedAt);
    // another add-on is another key: the real one is probed, not answered from the crash
    const real = await probeNative(options({ cacheDir: dir }));
    assert.equal(real.outcome, "ok");
    assert.equal(real.cached, false);
    const hang = options({ cacheDir: dir, module: addon("hang"), timeoutMs: 500 });
    assert.equal((await probeNative(hang)).outcome, "hung");
    assert.equal((await probeNative(hang)).cached, false);
    assert.equal([...Deno.readDirSync(dir)].length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("probe settings come from the environment and are checked", () => {
  const d = nativeProbeOptions({ HOME: "/home/u" });
  assert.equal(d.mode, "cached");
  assert.equal(d.timeoutMs, 60_000);
  assert.equal(d.cacheDir, "/home/u/.cache/tinyunet-edge");
  assert.deepEqual(d.launcher, []);
  assert.equal(
    nativeProbeOptions({ XDG_CACHE_HOME: "/x", HOME: "/h" }).cacheDir,
    "/x/tinyunet-edge",
  );
  assert.equal(
    nativeProbeOptions({ CACHE_DIRECTORY: "/var/cache/t:/b", HOME: "/h" }).cacheDir,
    "/var/cache/t",
  );
  assert.equal(
    nativeProbeOptions({ TINYUNET_NATIVE_PROBE_CACHE: "off", HOME: "/h" }).cacheDir,
    null,
  );
  assert.deepEqual(
    nativeProbeOptions({ TINYUNET_EMULATOR: " qemu-aarch64-static  -L /usr/aarch64-linux-gnu " })
      .launcher,
    ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"],
  );
  assert.equal(nativeProbeOptions({ TINYUNET_NATIVE_PROBE: "ALWAYS" }).mode, "always");
  assert.throws(
    () => nativeProbeOptions({ TINYUNET_NATIVE_PROBE: "sometimes" }),
    /expected cached, always, off/,
  );
  assert.throws(
    () => nativeProbeOptions({ TINYUNET_NATIVE_PROBE_TIMEOUT_MS: "soon" }),
    /TIMEOUT_MS=soon/,
  );
});
