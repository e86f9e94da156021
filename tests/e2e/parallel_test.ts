/**
 * Scale-out on one box: `deno serve --parallel serve.ts` runs one isolate per worker
 * (`DENO_JOBS`), each with its own engine sessions, on one port. The test starts two,
 * waits until both answer ready, then shows segmentations answered by more than one
 * isolate (`X-Instance-Id`), each with its own `/metrics`.
 */
import assert from "node:assert/strict";
import { makePng } from "../helpers/images.ts";
import { makeRepo } from "../helpers/model_repo.ts";
import { parsePrometheus } from "../helpers/prometheus.ts";
import { spawnServer } from "../helpers/server_process.ts";
import { waitUntil } from "../helpers/wait.ts";

Deno.test({
  name:
    "deno serve --parallel (DENO_JOBS=2): requests are answered by two isolates, each with its own sessions",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await makeRepo([{ name: "lesion" }]);
    await using server = spawnServer(
      root,
      { DENO_JOBS: "2", TINYUNET_LOG: "silent" },
      (
        port,
      ) => ["serve", "--parallel", "-A", "--host", "127.0.0.1", "--port", `${port}`, "serve.ts"],
    );
    const { base } = server;
    // a fresh connection per request, so the kernel spreads them over the isolates
    const fresh = () => Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    const get = async (path: string, init: RequestInit = {}) => {
      using client = fresh();
      const res = await fetch(base + path, { ...init, client });
      return {
        status: res.status,
        instance: res.headers.get("x-instance-id"),
        body: await res.text(),
        model: res.headers.get("x-model"),
      };
    };

    const ready = new Set<string>();
    await waitUntil(
      async () => {
        const r = await get("/v2/health/ready");
        if (r.status === 200 && r.instance) ready.add(r.instance);
        return ready.size >= 2;
      },
      "two isolates to be ready",
      120_000,
      20,
    );

    const answered = new Map<string, number>();
    const png = makePng(48, 32, 3);
    for (let i = 0; i < 200 && answered.size < 2; i++) {
      const batch = await Promise.all(
        Array.from({ length: 4 }, () =>
          get("/v1/segment?format=json", {
            method: "POST",
            headers: { "content-type": "image/png" },
            body: png,
          })),
      );
      for (const r of batch) {
        assert.equal(r.status, 200, r.body);
        assert.equal(r.model, "lesion");
        answered.set(r.instance!, (answered.get(r.instance!) ?? 0) + 1);
      }
    }
    assert.ok(
      answered.size >= 2,
      `answers came from ${answered.size} isolate(s): ${JSON.stringify([...answered])}`,
    );
    const pids = new Set([...answered.keys()].map((id) => id.split("-")[0]));
    assert.equal(pids.size, 1, "one process, several isolates");

    // each isolate keeps its own metrics: a scrape shows one instance and only its own count
    const seen = new Map<string, number>();
    await waitUntil(
      async () => {
        const r = await get("/metrics");
        const samples = parsePrometheus(r.body);
        const instance = samples.find((s) => s.name === "tinyunet_instance_info")!.labels.instance;
        assert.equal(instance, r.instance);
        seen.set(
          instance,
          samples.filter((s) => s.name === "nv_inference_count").reduce((n, s) => n + s.value, 0),
        );
        return seen.size >= 2;
      },
      "a scrape from each isolate",
      30_000,
      10,
    );
    for (const [instance, count] of seen) {
      assert.equal(count, answered.get(instance) ?? 0, `isolate ${instance} counted its own runs`);
    }

    server.kill("SIGTERM");
    await server.status();
    await Deno.remove(root, { recursive: true });
  },
});
