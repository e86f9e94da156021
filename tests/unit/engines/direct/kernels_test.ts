/**
 * The kernel library's build: made once per source, compiler and machine in the cache folder
 * (the second ask finds it), and a missing compiler is a reason, not a crash.
 */
import assert from "node:assert/strict";
import { buildKernels, kernelLibraryPath } from "../../../../src/engines/direct/kernels.ts";

Deno.test("buildKernels builds into the cache folder once, then finds it", async () => {
  const folder = await Deno.makeTempDir();
  const env = { TINYUNET_NATIVE_PROBE_CACHE: folder, PATH: Deno.env.get("PATH") };
  try {
    await Deno.writeTextFile(`${folder}/direct-kernels-0123456789abcdef.so`, "an older build");
    const first = await buildKernels(env);
    assert.ok("path" in first && first.built, JSON.stringify(first));
    assert.ok(first.path.startsWith(folder));
    const lib = Deno.dlopen(first.path, { tu_version: { parameters: [], result: "i32" } });
    assert.equal(lib.symbols.tu_version(), 1);
    lib.close();
    // found again, also where no compiler is (a library built ahead)
    assert.deepEqual([...Deno.readDirSync(folder)].map((e) => `${folder}/${e.name}`), [first.path]);
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
  const result = await buildKernels({ CC: "/nonexistent/cc", TINYUNET_NATIVE_PROBE_CACHE: "off" });
  assert.ok("reason" in result && /no C compiler/.test(result.reason), JSON.stringify(result));
});
