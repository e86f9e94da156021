/**
 * The kernel library's build: made once per source and platform in the cache folder (the
 * second ask finds it, also without a compiler), stale builds of other sources pruned, fresh
 * ones and other platforms' kept, and a missing compiler is a reason, not a crash.
 */
import assert from "node:assert/strict";
import {
  buildKernels,
  kernelLibraryPath,
  SPLIT_PROBE_EVERY,
  SplitChoice,
  SplitPolicy,
} from "../../../../src/engines/direct/kernels.ts";

Deno.test("buildKernels builds into the cache folder once, then finds it", async () => {
  const folder = await Deno.makeTempDir();
  const env = { TINYUNET_NATIVE_PROBE_CACHE: folder, PATH: Deno.env.get("PATH") };
  try {
    const target = Deno.build.target;
    const stale = `${folder}/direct-kernels-${target}-0123456789abcdef.so`;
    const fresh = `${folder}/direct-kernels-${target}-fedcba9876543210.so`;
    const other = `${folder}/direct-kernels-aarch64-unknown-linux-gnu-0123456789abcdef.so`;
    for (const f of [stale, fresh, other]) await Deno.writeTextFile(f, "another build");
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600_000);
    await Deno.utime(stale, twoDaysAgo, twoDaysAgo);
    await Deno.utime(other, twoDaysAgo, twoDaysAgo);
    const first = await buildKernels(env);
    assert.ok("path" in first && first.built, JSON.stringify(first));
    assert.ok(first.path.startsWith(folder));
    const lib = Deno.dlopen(first.path, { tu_version: { parameters: [], result: "i32" } });
    assert.equal(lib.symbols.tu_version(), 1);
    lib.close();
    // found again, also where no compiler is (a library built ahead)
    assert.deepEqual(
      [...Deno.readDirSync(folder)].map((e) => `${folder}/${e.name}`).sort(),
      [first.path, fresh, other].sort(),
    );
    const again = await buildKernels({ ...env, CC: "/nonexistent/cc" });
    assert.deepEqual(again, { path: first.path, built: false });
    // TINYUNET_KERNELS_DIR comes first
    assert.ok(
      (kernelLibraryPath({ ...env, TINYUNET_KERNELS_DIR: "/opt/k" })).startsWith("/opt/k/"),
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("buildKernels without a compiler says so", async () => {
  const folder = await Deno.makeTempDir();
  const result = await buildKernels({ CC: "/nonexistent/cc", TINYUNET_KERNELS_DIR: folder });
  await Deno.remove(folder, { recursive: true });
  assert.ok("reason" in result && /no C compiler/.test(result.reason), JSON.stringify(result));
});

Deno.test("a run may take two threads only when it starts alone, a quiet spell after runs last overlapped", () => {
  const policy = new SplitPolicy(100);
  assert.equal(policy.start(true, 0), true, "alone");
  assert.equal(policy.start(true, 1), false, "overlaps the first");
  policy.end();
  policy.end();
  assert.equal(policy.start(true, 50), false, "alone, but runs overlapped 49 ms ago");
  policy.end();
  assert.equal(policy.start(false, 200), false, "splitting off");
  policy.end();
  assert.equal(policy.start(true, 201), true, "alone after 200 ms without overlap");
  policy.end();
  policy.stop();
  assert.equal(policy.start(true, 1000), false, "stopped (an onnxruntime session loaded)");
  policy.end();
});

Deno.test("a program's lone runs keep the faster way, and try the other now and then", () => {
  const choice = new SplitChoice();
  const picks: boolean[] = [];
  const run = (oneMs: number, twoMs: number) => {
    const two = choice.wantTwo();
    picks.push(two);
    choice.record(two, two ? twoMs : oneMs);
  };
  for (let i = 0; i < 4; i++) run(1.6, 2.9);
  assert.deepEqual(picks, [true, true, false, false], "tries two twice, then one twice");
  for (let i = 0; i < 2 * SPLIT_PROBE_EVERY; i++) run(1.6, 2.9); // the other core busy
  assert.equal(picks.slice(4).filter((x) => x).length, 2, "one thread, two only as a probe");
  picks.length = 0;
  for (let i = 0; i < 4 * SPLIT_PROBE_EVERY; i++) run(1.9, 1.2); // the core free again
  assert.ok(picks.slice(-SPLIT_PROBE_EVERY).filter((x) => x).length >= SPLIT_PROBE_EVERY - 1);
});
