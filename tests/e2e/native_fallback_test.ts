/**
 * A native add-on that crashes, hangs or answers wrong never takes the server down: the
 * real server process (`deno run -A main.ts`, engine `auto`) probes onnxruntime-node in a
 * child, which loads a test double (tests/fixtures/native_addons/ through
 * `TINYUNET_NATIVE_PROBE_MODULE`) instead; the server starts on wasm, logs why, shows the
 * reason in `/v1/models` and serves. An explicit `native` with a crashing add-on stops
 * with exit code 1 and the reason, not a segmentation fault.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { makePng } from "../helpers/images.ts";
import { makeRepo } from "../helpers/model_repo.ts";
import { spawnServer } from "../helpers/server_process.ts";

const addon = (name: string) =>
  fileURLToPath(new URL(`../fixtures/native_addons/${name}.ts`, import.meta.url));

interface Runtime {
  engine: string;
  reason: string;
}

const cases = [
  { addon: "segfault", reason: /skipped native: native probe crashed \(SIGSEGV\)/ },
  { addon: "hang", reason: /skipped native: native probe did not finish within 1500 ms/ },
  { addon: "wrong_answer", reason: /skipped native: native probe gave a wrong answer/ },
];

for (const c of cases) {
  Deno.test({
    name: `auto with a ${c.addon} native add-on: the server starts on wasm and says why`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const root = await makeRepo([{ name: "lesion" }]);
      const cache = await Deno.makeTempDir({ prefix: "tinyunet-probe-cache-" });
      try {
        await using server = spawnServer(root, {
          TINYUNET_ENGINE: "auto",
          TINYUNET_NATIVE_PROBE_MODULE: addon(c.addon),
          TINYUNET_NATIVE_PROBE_CACHE: cache,
          TINYUNET_NATIVE_PROBE_TIMEOUT_MS: "1500",
        });
        await server.waitForLog((l) => l.msg === "ready", "the server to be ready", 90_000);
        const warning = server.json().find((l) => l.msg === "native engine probe failed");
        assert.ok(warning, "a warning names the failed probe");
        assert.match(String(warning.reason), /native probe/);

        const { base } = server;
        const list = await (await fetch(`${base}/v1/models`)).json();
        const runtime: Runtime = list.models[0].runtime[0];
        assert.equal(runtime.engine, "wasm");
        assert.match(runtime.reason, c.reason);

        const body = new FormData();
        body.set("image", new Blob([makePng(64, 48, 3)], { type: "image/png" }), "x.png");
        const res = await fetch(`${base}/v1/segment?format=json`, { method: "POST", body });
        assert.equal(res.status, 200);
        assert.equal((await res.json()).engine, "wasm");
      } finally {
        await Deno.remove(root, { recursive: true });
        await Deno.remove(cache, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "auto with the real add-on: the probe passes and native serves, saying so",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await makeRepo([{ name: "lesion" }]);
    const cache = await Deno.makeTempDir({ prefix: "tinyunet-probe-cache-" });
    try {
      await using server = spawnServer(root, {
        TINYUNET_ENGINE: "auto",
        TINYUNET_NATIVE_PROBE_CACHE: cache,
      });
      await server.waitForLog((l) => l.msg === "ready", "the server to be ready", 90_000);
      const list = await (await fetch(`${server.base}/v1/models`)).json();
      const runtime: Runtime = list.models[0].runtime[0];
      assert.equal(runtime.engine, "native");
      assert.match(
        runtime.reason,
        /^auto: the direct kernels for the models they cover.*else onnxruntime-node.*; native probe passed/,
      );
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(cache, { recursive: true });
    }
  },
});

Deno.test({
  name: "explicit native with a segfaulting add-on: exit code 1 with the reason, no crash",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await makeRepo([{ name: "lesion" }]);
    try {
      await using server = spawnServer(root, {
        TINYUNET_NATIVE_PROBE_MODULE: addon("segfault"),
        TINYUNET_NATIVE_PROBE_CACHE: "off",
      });
      const status = await server.status(60_000);
      assert.equal(status.code, 1);
      assert.equal(status.signal, null);
      assert.match(
        server.lines.join("\n"),
        /engine native is not available: native probe crashed \(SIGSEGV\)/,
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
