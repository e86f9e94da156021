/**
 * The kernel library's build: made once per source and platform in the cache folder (the
 * second ask finds it, also without a compiler), stale builds of other sources pruned, fresh
 * ones and other platforms' kept, and a missing compiler is a reason, not a crash.
 */
import assert from "node:assert/strict";
import {
  buildKernels,
  kernelLibraryPath,
  KERNELS_VERSION,
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
    assert.equal(lib.symbols.tu_version(), KERNELS_VERSION);
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
