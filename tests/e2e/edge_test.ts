/**
 * The edge-function entry (deploy/edge) in-process: models fetched over HTTP from a
 * loopback server at cold start, the wasm engine forced (and tfjs-wasm, the no-Worker
 * choice), a platform base path, and failed starts answered 503 with the reason.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createEdgeHandler, edgeConfig } from "../../deploy/edge/app.ts";
import { makePng } from "../helpers/images.ts";
import { makeRepo } from "../helpers/model_repo.ts";

/** Serves a folder read-only over loopback HTTP (a stand-in for object storage). */
function staticServer(root: string) {
  const controller = new AbortController();
  const requested: string[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen() {},
  }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    requested.push(path);
    if (path.includes("..")) return new Response("no", { status: 400 });
    try {
      return new Response(await Deno.readFile(join(root, path)));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    requested,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await server.finished;
    },
  };
}

const segment = (path = "/v1/segment?format=json") =>
  new Request(`http://edge.example${path}`, {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: makePng(40, 30, 3),
  });

for (const engine of ["wasm", "tfjs-wasm"] as const) {
  Deno.test({
    name: `edge entry (${engine}): models fetched from a URL at cold start, then served`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const repo = await makeRepo([{ name: "lesion", version: "3" }]);
      await using files = staticServer(repo);
      const edge = createEdgeHandler({
        TINYUNET_MODEL_URLS: `${files.base}/lesion/3/`,
        TINYUNET_ENGINE: engine,
        TINYUNET_LOG: "silent",
      });
      try {
        const live = await edge.fetch(new Request("http://edge.example/v2/health/live"));
        assert.equal(live.status, 200, "liveness answers before the cold start");
        assert.deepEqual(files.requested, [], "nothing fetched before the first real request");

        const res = await edge.fetch(segment());
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal(res.headers.get("x-engine"), engine);
        const body = await res.json();
        assert.equal(body.model, "lesion");
        assert.equal(body.version, "3");
        assert.deepEqual([body.width, body.height], [40, 30]);
        assert.deepEqual(files.requested.sort(), ["/lesion/3/model.json", "/lesion/3/model.onnx"]);

        const server = await edge.ready();
        assert.equal(server.config.threads, 1);
        assert.equal(server.config.watch, "off");
        const runtime = (await server.registry.get("lesion").runtime())[0];
        assert.equal(runtime.engine, engine);
        assert.equal(runtime.threads, 1);
        assert.equal(
          (await edge.fetch(new Request("http://edge.example/v2/health/ready"))).status,
          200,
        );
      } finally {
        await edge.close();
        await Deno.remove(repo, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "edge entry: base path stripped, keys enforced, bundled folder used when no URL is given",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const repo = await makeRepo([{ name: "lesion" }]);
    const key = "edge-key-0123456789abcdef";
    const edge = createEdgeHandler({
      TINYUNET_MODELS: repo,
      TINYUNET_ENGINE: "wasm",
      TINYUNET_BASE_PATH: "/tinyunet/",
      TINYUNET_API_KEYS: key,
      TINYUNET_LOG: "silent",
    });
    try {
      assert.equal((await edge.fetch(segment("/tinyunet/v1/segment"))).status, 401);
      const ok = await edge.fetch(
        new Request("http://edge.example/tinyunet/v2/models/lesion", {
          headers: { "x-api-key": key },
        }),
      );
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).name, "lesion");
      assert.equal(
        (await edge.fetch(new Request("http://edge.example/tinyunet/v2/health/live"))).status,
        200,
      );
      assert.equal(
        (await edge.fetch(
          new Request("http://edge.example/elsewhere", { headers: { "x-api-key": key } }),
        )).status,
        404,
      );
    } finally {
      await edge.close();
      await Deno.remove(repo, { recursive: true });
    }
  },
});

Deno.test({
  name: "edge entry: an unreachable or unsafe model URL answers 503 with the reason, and retries",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const repo = await makeRepo([{ name: "lesion" }]);
    await using files = staticServer(repo);
    for (
      const [url, reason] of [[`${files.base}/nope/1/`, /answered 404/], [
        "ftp://models.example/x/1/",
        /only http/,
      ]] as const
    ) {
      const edge = createEdgeHandler({
        TINYUNET_MODEL_URLS: url,
        TINYUNET_ENGINE: "wasm",
        TINYUNET_LOG: "silent",
      });
      const first = await edge.fetch(segment());
      assert.equal(first.status, 503);
      const body = await first.json();
      assert.equal(body.code, "model_not_ready");
      assert.match(body.error, reason);
      assert.equal(first.headers.get("retry-after"), "5");
      const before = files.requested.length;
      assert.equal((await edge.fetch(segment())).status, 503);
      if (url.startsWith("http")) {
        assert.ok(files.requested.length > before, "the next request tried again");
      }
      await edge.close();
    }
    // a card whose file name leaves its folder is refused before anything is fetched
    await Deno.mkdir(join(repo, "evil", "1"), { recursive: true });
    await Deno.writeTextFile(
      join(repo, "evil", "1", "model.json"),
      JSON.stringify({ name: "evil", version: "1", files: { fp32: "../../../etc/passwd" } }),
    );
    const edge = createEdgeHandler({
      TINYUNET_MODEL_URLS: `${files.base}/evil/1/`,
      TINYUNET_ENGINE: "wasm",
      TINYUNET_LOG: "silent",
    });
    const res = await edge.fetch(segment());
    assert.equal(res.status, 503);
    assert.match((await res.json()).error, /not a plain file name/);
    assert.ok(!files.requested.some((p) => p.includes("passwd")));
    await edge.close();
    await Deno.remove(repo, { recursive: true });
  },
});

Deno.test("edge config: one thread, no watcher; the wasm engine with or without Workers", () => {
  const c = edgeConfig({ TINYUNET_THREADS: "8", TINYUNET_WATCH: "fs" }, "/models");
  assert.equal(c.threads, 1);
  assert.equal(c.watch, "off");
  assert.equal(c.modelsDir, "/models");
  assert.equal(c.engine, "wasm", "Workers exist here");
  assert.equal(edgeConfig({ TINYUNET_ENGINE: "tfjs-wasm" }).engine, "tfjs-wasm");
  const worker = globalThis.Worker;
  try {
    // deno-lint-ignore no-explicit-any
    (globalThis as any).Worker = undefined;
    assert.equal(edgeConfig({}).engine, "wasm");
  } finally {
    globalThis.Worker = worker;
  }
});

Deno.test("edge bundle (deploy/edge/import_map.json, ORT stubbed out): the direct kernels' WebAssembly serves with and without Workers, tfjs-wasm serves, a stubbed engine fails cleanly", async () => {
  const repo = await makeRepo([{ name: "lesion" }]);
  // each case in a process of its own (engine settings are read once per isolate)
  const edgeCase = async (env: Record<string, string>, noWorkers = false) => {
    const script = `
      import { createEdgeHandler } from "./deploy/edge/app.ts";
      import { makePng } from "./tests/helpers/images.ts";
      ${noWorkers ? "globalThis.Worker = undefined;" : ""}
      const edge = createEdgeHandler({ TINYUNET_MODELS: ${JSON.stringify(repo)}, ...${
      JSON.stringify(env)
    }, TINYUNET_LOG: "silent" });
      const res = await edge.fetch(new Request("http://edge/v1/segment?format=json", { method: "POST", headers: { "content-type": "image/png" }, body: makePng(24, 24, 3) }));
      const models = await (await edge.fetch(new Request("http://edge/v1/models"))).json().catch(() => null);
      console.log(JSON.stringify({ status: res.status, engine: res.headers.get("x-engine"), body: await res.json(), models }));
      await edge.close();
      Deno.exit(0);`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--import-map=deploy/edge/import_map.json", script],
      cwd: new URL("../../", import.meta.url).pathname,
      env: { ONNXRUNTIME_NODE_INSTALL: "skip", TINYUNET_LOG: "silent", ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  };
  const tfjs = await edgeCase({ TINYUNET_ENGINE: "tfjs-wasm" });
  assert.equal(tfjs.status, 200);
  assert.equal(tfjs.engine, "tfjs-wasm");
  assert.equal(tfjs.body.model, "lesion");
  for (const noWorkers of [false, true]) {
    const wasm = await edgeCase({}, noWorkers);
    const what = noWorkers ? "without Workers" : "with Workers";
    assert.equal(wasm.status, 200, what);
    assert.equal(wasm.engine, "wasm", what);
    assert.equal(wasm.body.model, "lesion", what);
    const notes = JSON.stringify(wasm.models);
    assert.match(notes, /direct kernels \(WebAssembly/, what);
    if (noWorkers) assert.match(notes, /on the event loop/);
  }
  const web = await edgeCase({ TINYUNET_ENGINE: "wasm", TINYUNET_WASM_KERNELS: "onnxruntime" });
  assert.equal(web.status, 503, "onnxruntime-web is not in the bundle");
  assert.match(web.body.error, /not included in the edge bundle/);
  await Deno.remove(repo, { recursive: true });
});
