import assert from "node:assert/strict";
import { occupyQueue } from "../../helpers/gate.ts";
import { makePng } from "../../helpers/images.ts";
import { fixtureServer } from "../../helpers/model_repo.ts";
import { seededRandom } from "../../../lib/onnx_builder.ts";
import { httpRequests, parsePrometheus, sampleValue } from "../../helpers/prometheus.ts";
import { v2Body } from "../../../lib/v2_bodies.ts";
import { waitUntil } from "../../helpers/wait.ts";
import { liveHosts } from "../../../src/engines/engine_host.ts";
import { keeperState, MemoryKeeper } from "../../../src/memory/keeper.ts";

const png = () => ({
  method: "POST",
  headers: { "content-type": "image/png" },
  body: makePng(32, 24, 3),
});

Deno.test("/metrics: Triton-named per-model counters, histograms, queue depth, engine info, per-route HTTP counts", async () => {
  await using s = await fixtureServer([{ name: "lesion" }, { name: "lesion", version: "2" }], {
    maxQueue: 0,
  });
  for (let i = 0; i < 3; i++) await (await s.app.request("/v1/segment", png())).body?.cancel();
  await (await s.app.request("/v1/models/lesion/versions/1/segment", png())).body?.cancel();
  await (await s.app.request("/v2/models/lesion/infer", { method: "POST", body: v2Body() })).body
    ?.cancel();
  // a refusal that reached the model: queue full
  const gate = await occupyQueue(s.registry.get("lesion", "2"));
  const busy = await s.app.request("/v1/segment", png());
  assert.equal(busy.status, 503);
  await busy.body?.cancel();
  const depthWhileBusy = parsePrometheus(await (await s.app.request("/metrics")).text());
  assert.equal(
    sampleValue(depthWhileBusy, "tinyunet_queue_depth", { model: "lesion", version: "2" }),
    1,
  );
  await gate.release();

  const res = await s.app.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const m = parsePrometheus(await res.text());
  const v2 = { model: "lesion", version: "2" }, v1 = { model: "lesion", version: "1" };
  assert.equal(sampleValue(m, "nv_inference_request_success", v2), 4);
  assert.equal(sampleValue(m, "nv_inference_request_success", v1), 1);
  assert.equal(sampleValue(m, "nv_inference_count", v2), 4);
  assert.equal(sampleValue(m, "nv_inference_request_failure", { ...v2, reason: "queue_full" }), 1);
  assert.ok(sampleValue(m, "nv_inference_compute_infer_duration_us", v2) > 0);
  // present (sampleValue throws otherwise); that it grows: the next test
  assert.equal(typeof sampleValue(m, "nv_inference_queue_duration_us", v2), "number");
  assert.equal(sampleValue(m, "tinyunet_inference_compute_seconds_count", v2), 4);
  assert.equal(sampleValue(m, "tinyunet_inference_queue_seconds_bucket", { ...v2, le: "+Inf" }), 4);
  assert.equal(sampleValue(m, "tinyunet_queue_depth", v2), 0);
  assert.equal(
    sampleValue(m, "tinyunet_model_info", { ...v1, engine: "native", precision: "fp32" }),
    1,
  );
  assert.equal(m.filter((x) => x.name === "tinyunet_instance_info").length, 1);
  assert.equal(httpRequests(m, "/v1/segment", 200), 3);
  assert.equal(httpRequests(m, "/v1/segment", 503), 1);
  assert.equal(httpRequests(m, "/v1/models/:name/versions/:version/segment", 200), 1);
  assert.equal(httpRequests(m, "/v2/models/:name/infer", 200), 1);
  assert.ok(
    !m.some((x) => x.name.startsWith("nodejs_")),
    "no default Node metrics (the process ones are read by process_metrics.ts)",
  );
});

Deno.test("/metrics: time spent waiting in the queue is counted", async () => {
  await using s = await fixtureServer([{ name: "lesion" }], { maxQueue: 1 });
  const queueUs = async () =>
    sampleValue(
      parsePrometheus(await (await s.app.request("/metrics")).text()),
      "nv_inference_queue_duration_us",
      { model: "lesion", version: "1" },
    );
  await (await s.app.request("/v1/segment", png())).body?.cancel(); // the series exists
  const before = await queueUs();
  const gate = await occupyQueue(s.registry.get("lesion"));
  const waiting = s.app.request("/v1/segment", png());
  await waitUntil(() => gate.depth() === 1, "the request to queue");
  await new Promise((r) => setTimeout(r, 50));
  await gate.release();
  assert.equal((await waiting).status, 200);
  const waited = (await queueUs()) - before;
  assert.ok(waited >= 45_000, `queue time grew by ${waited} µs, expected ≥ 50 ms`);
});

Deno.test("/metrics: fuzzed URLs and model names do not add series (labels are route patterns)", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const rnd = seededRandom(11);
  const word = () => Math.floor(rnd() * 1e9).toString(36);
  // series other than the scrape's own (the first scrape adds /metrics series once)
  const count = async () =>
    parsePrometheus(await (await s.app.request("/metrics")).text()).filter((x) =>
      x.labels.route !== "/metrics"
    ).length;
  const methods = ["GET", "POST", "PATCH", "PROPFIND"];
  const paths = [
    () => `/${word()}/${word()}?${word()}=1`,
    () => `/v2/models/${word()}/ready`,
    () => `/v2/models/${word()}/infer`,
    () => `/v1/models/${word()}/segment`,
  ];
  const hit = async (i: number) => {
    const method = methods[i % methods.length];
    const path = paths[Math.floor(i / methods.length) % paths.length]();
    await (await s.app.request(path, { method, body: method === "GET" ? undefined : "{}" })).body
      ?.cancel();
  };
  for (let i = 0; i < methods.length * paths.length; i++) await hit(i); // every kind once
  const before = await count();
  for (let i = 0; i < 200; i++) await hit(Math.floor(rnd() * 1000)); // 200 more random URLs of the same kinds
  const after = parsePrometheus(await (await s.app.request("/metrics")).text());
  const routes = new Set(
    after.filter((x) => x.name === "tinyunet_http_requests_total").map((x) => x.labels.route),
  );
  assert.ok(routes.has("unmatched"));
  assert.ok(routes.has("/v2/models/:name/ready"));
  for (const r of routes) {
    assert.ok(
      r === "unmatched" || r === "/metrics" || r.startsWith("/v"),
      `unexpected route label ${r}`,
    );
  }
  assert.equal(
    after.filter((x) => x.labels.route !== "/metrics").length,
    before,
    "200 random URLs added no series",
  );
  assert.ok(
    !after.some((x) => x.labels.model && x.labels.model !== "lesion"),
    "no series for unknown model names",
  );
});

Deno.test("/metrics: the standard process metrics and the engine host Workers alive", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const read = async () => parsePrometheus(await (await s.app.request("/metrics")).text());
  const before = await read();
  for (let i = 0; i < 5; i++) await (await s.app.request("/v1/segment", png())).body?.cancel();
  const m = await read();
  const rss = sampleValue(m, "process_resident_memory_bytes");
  const now = Deno.memoryUsage().rss;
  assert.ok(Math.abs(rss - now) < now * 0.2, `RSS ${rss} against ${now}`);
  assert.ok(
    sampleValue(m, "process_cpu_seconds_total") > sampleValue(before, "process_cpu_seconds_total"),
    "CPU time grows with work",
  );
  const open = sampleValue(m, "process_open_fds"), max = sampleValue(m, "process_max_fds");
  assert.ok(open > 2 && open <= max, `open ${open}, max ${max}`);
  const start = sampleValue(m, "process_start_time_seconds");
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600, `start ${start}`);
  assert.ok(sampleValue(m, "tinyunet_heap_used_bytes") > 1e6);
  assert.ok(
    sampleValue(m, "tinyunet_heap_total_bytes") > sampleValue(m, "tinyunet_heap_used_bytes"),
  );
  const workers = sampleValue(m, "tinyunet_engine_host_workers", { backend: "native" });
  assert.ok(Number.isInteger(workers) && workers >= 0);
  assert.equal(workers, liveHosts().filter((h) => h.backend === "native").length);
  const faults = (x: typeof m) => sampleValue(x, "tinyunet_page_faults_total", { kind: "minor" });
  assert.ok(faults(m) > faults(before) && faults(before) > 0, "minor page faults grow with work");
  assert.equal(sampleValue(m, "tinyunet_allocator_trims_total"), keeperState()?.trims ?? 0);
  const keeper = new MemoryKeeper({ intervalMs: 0, mmapThresholdBytes: 0 });
  try {
    const trimmed = keeper.trim(); // false where the allocator cannot (not glibc)
    assert.equal(sampleValue(await read(), "tinyunet_allocator_trims_total"), trimmed ? 1 : 0);
  } finally {
    keeper.stop();
  }
  assert.equal(sampleValue(m, "tinyunet_engine_host_workers", { backend: "wasm" }), 0);
});
