import assert from "node:assert/strict";
import { occupyQueue } from "../../../helpers/gate.ts";
import { makePng } from "../../../helpers/images.ts";
import { fixtureServer } from "../../../helpers/model_repo.ts";
import { httpRequests, parsePrometheus, sampleValue } from "../../../helpers/prometheus.ts";
import { v2Body } from "../../../../lib/v2_bodies.ts";
import { waitUntil } from "../../../helpers/wait.ts";

Deno.test("a request that times out while queued gets 504 and frees its queue slot", async () => {
  await using s = await fixtureServer([{ name: "lesion" }], { maxQueue: 1, requestTimeoutMs: 300 });
  const mv = s.registry.get("lesion");
  const gate = await occupyQueue(mv);
  try {
    const waiting = s.app.request("/v2/models/lesion/infer", { method: "POST", body: v2Body() });
    await waitUntil(() => gate.depth() === 1, "the request to be queued");
    const timedOut = await waiting;
    assert.equal(timedOut.status, 504);
    assert.equal((await timedOut.json()).code, "timeout");
    // the abandoned run leaves the queue although the run ahead of it is still going
    await waitUntil(() => gate.depth() === 0, "the timed-out run to leave the queue");
    // so the one free place is free: the next request queues (and times out) instead of 503
    const next = await s.app.request("/v1/segment", {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: makePng(16, 16, 3),
    });
    assert.equal(next.status, 504, "queued, not refused as queue_full");
    await next.body?.cancel();
    await waitUntil(() => gate.depth() === 0, "the second timed-out run to leave the queue");
  } finally {
    await gate.release();
  }
  const ok = await s.app.request("/v2/models/lesion/infer", { method: "POST", body: v2Body() });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  const m = parsePrometheus(await (await s.app.request("/metrics")).text());
  assert.equal(
    sampleValue(m, "nv_inference_request_failure", {
      model: "lesion",
      version: "1",
      reason: "aborted",
    }),
    2,
  );
  assert.equal(httpRequests(m, "/v2/models/:name/infer", 504), 1);
});

Deno.test("request ids: a sane incoming X-Request-Id is echoed, an insane one replaced", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const echo = await s.app.request("/v2/health/live", {
    headers: { "x-request-id": "scanner-7_abc=" },
  });
  assert.equal(echo.headers.get("x-request-id"), "scanner-7_abc=");
  for (const bad of ["has space", "x".repeat(129), "new\\nline", "<script>", "a/b"]) {
    const res = await s.app.request("/v2/health/live", { headers: { "x-request-id": bad } });
    const id = res.headers.get("x-request-id") ?? "";
    assert.notEqual(id, bad);
    assert.match(id, /^[0-9a-f-]{36}$/);
  }
  const a = (await s.app.request("/v2/health/live")).headers.get("x-request-id");
  const b = (await s.app.request("/v2/health/live")).headers.get("x-request-id");
  assert.ok(a && b && a !== b);
  assert.ok((await s.app.request("/nope")).headers.get("x-instance-id"));
});

Deno.test("access log: one JSON line per request with id, route, model, status, timings; probes quiet", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const lines: string[] = [];
  const original = console.log, originalErr = console.error;
  const previous = Deno.env.get("TINYUNET_LOG");
  Deno.env.set("TINYUNET_LOG", "");
  console.log = (line: string) => lines.push(line);
  console.error = (line: string) => lines.push(line);
  try {
    await (await s.app.request("/v1/segment", {
      method: "POST",
      headers: { "content-type": "image/png", "x-request-id": "req-42" },
      body: makePng(20, 20, 3),
    })).body?.cancel();
    await (await s.app.request("/v2/health/ready")).body?.cancel();
    await (await s.app.request("/v2/models/zzz/infer", { method: "POST", body: "{}" })).body
      ?.cancel();
  } finally {
    console.log = original;
    console.error = originalErr;
    if (previous === undefined) Deno.env.delete("TINYUNET_LOG");
    else Deno.env.set("TINYUNET_LOG", previous);
  }
  const entries = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === "request");
  assert.equal(entries.length, 2, "the probe is not logged");
  const [ok, missing] = entries;
  assert.equal(ok.request_id, "req-42");
  assert.equal(ok.method, "POST");
  assert.equal(ok.route, "/v1/segment");
  assert.equal(ok.status, 200);
  assert.equal(ok.model, "lesion");
  assert.equal(ok.version, "1");
  assert.equal(ok.engine, "native");
  assert.equal(typeof ok.duration_ms, "number");
  assert.equal(typeof ok.compute_ms, "number");
  assert.equal(typeof ok.timings.decode_ms, "number");
  assert.equal(missing.status, 404);
  assert.equal(missing.level, "warn");
  assert.equal(missing.route, "/v2/models/:name/infer");
  assert.equal(missing.model, undefined);
});

Deno.test("draining: readiness turns 503 with state draining", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  assert.equal((await s.app.request("/v2/health/ready")).status, 200);
  s.registry.markDraining();
  const res = await s.app.request("/v2/health/ready");
  assert.equal(res.status, 503);
  assert.equal((await res.json()).state, "draining");
});
