/**
 * The real server process (`deno run -A main.ts`) over a repository holding one corrupt
 * model beside a good one: it starts, logs the failure, serves the good model, and turns
 * ready once the corrupt one is replaced (hot reload) — one bad model never takes it down.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makePng } from "../helpers/images.ts";
import { makeRepo } from "../helpers/model_repo.ts";
import { spawnServer } from "../helpers/server_process.ts";
import { waitUntil } from "../helpers/wait.ts";

Deno.test({
  name:
    "main.ts with one corrupt model and one good one serves the good one, and heals on hot reload",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await makeRepo([
      { name: "good" },
      { name: "corrupt", onnx: new TextEncoder().encode("truncated upload") },
    ]);
    try {
      await using server = spawnServer(root, {
        TINYUNET_DEFAULT_MODEL: "good",
        TINYUNET_WATCH: "poll",
        TINYUNET_WATCH_INTERVAL_MS: "200",
      });
      const failed = await server.waitForLog(
        (l) => l.msg === "model failed to load",
        "the failure to be logged",
        90_000,
      );
      assert.equal(failed.model, "corrupt");
      await server.waitForLog((l) => l.msg === "ready", "the server to start serving");
      const url = server.base;
      const res = await fetch(`${url}/v1/segment`, {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: makePng(40, 30, 3),
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      const strict = await fetch(`${url}/v2/health/ready`);
      assert.equal(strict.status, 503);
      assert.equal((await strict.json()).failed[0].name, "corrupt");

      // replace the corrupt file with a good one: the watcher reloads it and readiness follows
      const dir = join(root, "corrupt", "1");
      await Deno.copyFile(join(root, "good", "1", "model.onnx"), join(dir, ".model.onnx.tmp"));
      await Deno.rename(join(dir, ".model.onnx.tmp"), join(dir, "model.onnx"));
      await waitUntil(
        async () => (await fetch(`${url}/v2/health/ready`).then((r) => r.json())).ready,
        "readiness after the fix",
        30_000,
        100,
      );
      assert.equal(server.exited, undefined);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
