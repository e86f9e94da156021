/**
 * A bounded load test on loopback: autocannon drives the real server process
 * (`deno run -A main.ts`, repository watched by polling) with concurrent connections
 * while the model is reloaded twice — new weights for the serving version through the
 * repository API, then a new version dropped into the folder for the watcher to pick
 * up. Every request must get an answer (autocannon's count = requests sent = the
 * server's own count), and every answer must be 200 or deliberate 503 backpressure.
 *
 * `TINYUNET_LOAD_REQUESTS` (default 1500) and `TINYUNET_LOAD_CONNECTIONS` (default 8)
 * size it; `TINYUNET_LOAD_REPORT=1` prints throughput, latency and server RSS.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import autocannon from "autocannon";
import { v2BinaryBody, v2Input } from "../../lib/v2_bodies.ts";
import { makePng } from "../helpers/images.ts";
import { makeRepo } from "../helpers/model_repo.ts";
import { parsePrometheus } from "../helpers/prometheus.ts";
import { writeVersion } from "../helpers/repo_edit.ts";
import { spawnServer, waitReady } from "../helpers/server_process.ts";
import { waitUntil } from "../helpers/wait.ts";

const REQUESTS = Number(Deno.env.get("TINYUNET_LOAD_REQUESTS") ?? 1500);
const CONNECTIONS = Number(Deno.env.get("TINYUNET_LOAD_CONNECTIONS") ?? 8);
const ADMIN = "admin-key-for-the-load-test-0001";

Deno.test({
  name:
    `load: ${REQUESTS} requests on ${CONNECTIONS} connections with two model reloads: all answered, no 5xx but 503 backpressure`,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await makeRepo([{ name: "lesion" }]);
    await using server = spawnServer(root, {
      TINYUNET_WATCH: "poll",
      TINYUNET_WATCH_INTERVAL_MS: "200",
      TINYUNET_MAX_QUEUE: "16",
      TINYUNET_ADMIN_KEYS: ADMIN,
      TINYUNET_LOG: "silent",
    });
    const { base } = server;
    await waitReady(base);
    const rssIdle = server.rssMb();

    const v2 = v2BinaryBody(v2Input(64, 64, { seed: 3 }), 64, 64);
    const png = makePng(96, 72, 3);
    const auth = { authorization: `Bearer ${ADMIN}` };
    let answered = 0;
    const reloads: Promise<string>[] = [];
    const instance = autocannon({
      url: base,
      connections: CONNECTIONS,
      amount: REQUESTS,
      timeout: 30,
      requests: [
        {
          method: "POST",
          path: "/v2/models/lesion/infer",
          headers: {
            ...auth,
            "content-type": "application/octet-stream",
            "inference-header-content-length": String(v2.headerLength),
          },
          body: Buffer.from(v2.body) as unknown as string,
        },
        {
          method: "POST",
          path: "/v1/segment?format=json",
          headers: { ...auth, "content-type": "image/png" },
          body: Buffer.from(png) as unknown as string,
        },
      ],
    });
    instance.on("response", () => {
      answered++;
      if (answered === Math.floor(REQUESTS / 3)) {
        // 1) new weights for the serving version, loaded through the repository API
        reloads.push((async () => {
          await writeVersion(root, "lesion", "1", { seed: 41 });
          const res = await fetch(`${base}/v2/repository/models/lesion/load`, {
            method: "POST",
            headers: auth,
          });
          return `api load ${res.status} ${await res.text()}`;
        })());
      }
      if (answered === Math.floor((2 * REQUESTS) / 3)) {
        // 2) a new version dropped into the folder, for the watcher
        reloads.push(
          writeVersion(root, "lesion", "2", { seed: 42, atomic: true }).then(() =>
            "dropped version 2"
          ),
        );
      }
    });
    const guard = setTimeout(() => instance.stop(), 240_000); // bound: never hang the suite
    const result = await instance;
    clearTimeout(guard);
    const [apiLoad] = await Promise.all(reloads);
    assert.match(apiLoad, /^api load 200/, apiLoad);

    const rssLoaded = server.rssMb();
    const codes = Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([k, v]) => [k, (v as { count: number }).count]),
    );
    if (Deno.env.has("TINYUNET_LOAD_REPORT")) {
      console.log(JSON.stringify({
        requests: result.requests.total,
        seconds: result.duration,
        rps: result.requests.average,
        latency_ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
        codes,
        server_rss_mb: { idle: Math.round(rssIdle), after_load: Math.round(rssLoaded) },
      }));
    }
    assert.equal(result.errors, 0, "no connection errors");
    assert.equal(result.timeouts, 0, "no timeouts");
    assert.equal(result.requests.total, REQUESTS, "every request got an answer");
    const total = Object.values(codes).reduce((a, b) => a + b, 0);
    assert.equal(total, REQUESTS);
    for (const code of Object.keys(codes)) {
      assert.ok(code === "200" || code === "503", `status ${code}: ${JSON.stringify(codes)}`);
    }
    assert.ok((codes["200"] ?? 0) > REQUESTS / 2, `mostly served: ${JSON.stringify(codes)}`);

    // the watcher picked up version 2, and the server counted what autocannon counted
    await waitUntil(
      async () =>
        (await (await fetch(`${base}/v2/models/lesion`, { headers: auth })).json()).versions
          .includes("2"),
      "version 2 to load",
    );
    const metrics = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    const served = metrics
      .filter((s) =>
        s.name === "tinyunet_http_requests_total" &&
        ["/v2/models/:name/infer", "/v1/segment"].includes(s.labels.route)
      )
      .reduce((n, s) => n + s.value, 0);
    assert.equal(served, REQUESTS, "the server answered exactly the requests sent");
    const byVersion = (v: string) =>
      metrics.filter((s) => s.name === "nv_inference_request_success" && s.labels.version === v)
        .reduce((n, s) => n + s.value, 0);
    assert.ok(byVersion("1") > 0, "version 1 served");

    server.kill("SIGTERM");
    assert.equal((await server.status()).code, 0);
    await Deno.remove(root, { recursive: true });
  },
});
