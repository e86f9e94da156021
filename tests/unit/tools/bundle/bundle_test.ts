/**
 * The bundle's import map: only the packages the server's source imports (the whole
 * bundle, run under qemu, is checked by tests/e2e/arm64_test.ts).
 */
import assert from "node:assert/strict";
import {
  entryPoints,
  serverImportMap,
  serverImports,
  startScript,
} from "../../../../tools/bundle/bundle.ts";
import { deployedArgs, serveV8Flags } from "../../../../lib/serve_command.ts";

Deno.test("serverImportMap keeps what is imported (bare, subpath, folder entries) and drops the rest", () => {
  const imports = {
    "hono": "npm:hono@4",
    "hono/": "npm:/hono@4/",
    "zod": "npm:zod@4",
    "onnxruntime-web": "npm:onnxruntime-web@1",
    "onnxruntime-web/webgpu": "npm:onnxruntime-web@1/webgpu",
    "playwright-core": "npm:playwright-core@1",
    "yaml": "npm:yaml@2",
  };
  const kept = serverImportMap(
    imports,
    new Set(["hono", "hono/cors", "onnxruntime-web/webgpu", "node:path"]),
  );
  assert.deepEqual(Object.keys(kept).sort(), ["hono", "hono/", "onnxruntime-web/webgpu"]);
});

Deno.test("the server's own source imports its runtime packages and no test or bench tool", () => {
  const used = serverImports();
  for (const pkg of ["hono", "onnxruntime-node", "onnxruntime-web", "zod", "dicom-parser"]) {
    assert.ok(used.has(pkg), pkg);
  }
  // fast-png: only tests and the bench's codec comparison (the server writes PNG itself)
  for (const pkg of ["playwright-core", "autocannon", "kubernetes-models", "yaml", "fast-png"]) {
    assert.ok(![...used].some((s) => s === pkg || s.startsWith(`${pkg}/`)), pkg);
  }
});

Deno.test("entry points: main, serve and every module src/ starts by URL (workers, the probe child)", () => {
  const entries = entryPoints();
  for (
    const e of [
      "main.ts",
      "serve.ts",
      "src/engines/host_worker.ts",
      "src/engines/native_probe/child.ts",
    ]
  ) {
    assert.ok(entries.includes(e), e);
  }
});

Deno.test("start.sh runs main.ts with deno task serve's V8 flags, and like the deployed command neither downloads nor re-checks packages", () => {
  const script = startScript("arm64");
  const flags = serveV8Flags();
  assert.ok(flags.length > 0);
  const exec = script.split("\n").find((l) => l.startsWith("exec "))!;
  for (const f of flags) assert.ok(exec.includes(` ${f} main.ts`), exec);
  for (const f of ["--cached-only", "--node-modules-dir=manual"]) {
    assert.ok(exec.includes(` ${f} `), f);
    assert.ok(deployedArgs().includes(f), `the container's entrypoint has ${f}`);
  }
});

Deno.test("deployedArgs: the container's entrypoint after deno, its writable path replaced when asked", () => {
  const args = deployedArgs("/tmp/state");
  assert.equal(args[0], "run");
  assert.equal(args.at(-1), "main.ts");
  assert.ok(args.includes("--allow-write=/tmp/state"));
  assert.ok(!deployedArgs().includes("--allow-write=/tmp/state"));
  assert.equal(args.filter((a) => a.startsWith("--allow-write=")).length, 1);
});
