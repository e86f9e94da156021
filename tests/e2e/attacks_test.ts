/**
 * The decode attacks of issue 13 against the real server process (loopback, shipped
 * models, `TINYUNET_WORKERS=2`), each made by tests/helpers/attacks.ts, while a probe polls
 * `/v2/health/live` every 20 ms:
 *
 * - a 1 MB PNG whose IDAT inflates to 1 GiB: 4xx in < 100 ms, peak RSS + < 32 MiB;
 * - a 4096² RGBA16 PNG of zeros: answered, peak RSS + < 200 MiB;
 * - a 4096² progressive JPEG with 20,000 scans: answered within 2 s;
 * - a valid 4096² baseline RGB JPEG (inside the pixel limit): 200, peak RSS + < 200 MiB
 *   (libjpeg-turbo; jpeg-js needed ~+500 MiB);
 * - liveness answers within 250 ms throughout.
 *
 * Peak RSS is sampled every 5 ms from /proc (Linux). About 25 s on 2 cores.
 */
import assert from "node:assert/strict";
import { idatBomb, manyScanJpeg, zeroRgba16Png } from "../helpers/attacks.ts";
import { makeJpeg } from "../helpers/images.ts";
import { spawnShippedServer, waitReady } from "../helpers/server_process.ts";

Deno.test({
  name: "attacks: IDAT bomb, 4096² RGBA16 PNG, 20,000-scan JPEG are bounded; liveness < 250 ms",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = spawnShippedServer({
      TINYUNET_WORKERS: "2",
    });
    const { base } = server;
    await waitReady(base);
    const attacks = [
      { name: "IDAT bomb", body: idatBomb(), type: "image/png", ms: 100, mib: 32, status: 400 },
      {
        name: "RGBA16 4096²",
        body: zeroRgba16Png(),
        type: "image/png",
        ms: 30_000,
        mib: 200,
        status: 200,
      },
      {
        name: "20,000 scans",
        body: manyScanJpeg(),
        type: "image/jpeg",
        ms: 2000,
        mib: 32,
        status: 422,
      },
      {
        name: "baseline JPEG 4096²",
        body: makeJpeg(4096, 4096, 90),
        type: "image/jpeg",
        ms: 30_000,
        mib: 200,
        status: 200,
      },
    ];
    // warm the connection and the workers with one normal request
    const warm = await fetch(`${base}/v1/segment`, {
      method: "POST",
      body: zeroRgba16Png(64),
      headers: { "content-type": "image/png" },
    });
    assert.equal(warm.status, 200, await warm.text());
    let worstLive = 0, stop = false;
    const probe = (async () => {
      while (!stop) {
        const t = performance.now();
        const res = await fetch(`${base}/v2/health/live`);
        await res.body?.cancel();
        assert.equal(res.status, 200);
        worstLive = Math.max(worstLive, performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, server.rssMb())), 5);
    try {
      for (const a of attacks) {
        await new Promise((r) => setTimeout(r, 500)); // let the previous one's memory go
        const before = server.rssMb();
        peak = before;
        const t = performance.now();
        const res = await fetch(`${base}/v1/segment`, {
          method: "POST",
          body: a.body,
          headers: { "content-type": a.type },
        });
        const body = await res.arrayBuffer();
        const ms = performance.now() - t;
        await new Promise((r) => setTimeout(r, 50));
        const grew = peak - before;
        console.log(
          `${a.name}: ${res.status} in ${ms.toFixed(0)} ms, peak RSS +${grew.toFixed(0)} MiB`,
        );
        assert.equal(res.status, a.status, new TextDecoder().decode(body).slice(0, 200));
        assert.ok(ms < a.ms, `${a.name} took ${ms.toFixed(0)} ms (limit ${a.ms})`);
        assert.ok(grew < a.mib, `${a.name}: RSS grew ${grew.toFixed(0)} MiB (limit ${a.mib})`);
      }
    } finally {
      stop = true;
      clearInterval(sampler);
      await probe;
    }
    console.log(`worst liveness ${worstLive.toFixed(0)} ms`);
    assert.ok(worstLive < 250, `liveness took ${worstLive.toFixed(0)} ms`);
    server.kill("SIGTERM");
    assert.equal((await server.status()).code, 0);
  },
});

Deno.test({
  name:
    "attacks: the deadline ends a long decode (its worker is terminated); a client that leaves is logged as 499 aborted",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = spawnShippedServer({
      TINYUNET_WORKERS: "2",
      TINYUNET_REQUEST_TIMEOUT_MS: "600",
    });
    const { base } = server;
    await waitReady(base);
    // a legal 4096² progressive JPEG with the most scans allowed (256): each scan visits
    // every block, ~1 s of libjpeg-turbo work here, well past the 600 ms deadline
    const big = manyScanJpeg(4096, 256);
    const t = performance.now();
    const res = await fetch(`${base}/v1/segment`, {
      method: "POST",
      body: big,
      headers: { "content-type": "image/jpeg" },
    });
    const body = await res.json();
    const ms = performance.now() - t;
    assert.equal(res.status, 504, JSON.stringify(body));
    assert.equal(body.code, "timeout");
    assert.ok(ms < 2500, `the 504 came after ${ms.toFixed(0)} ms`);
    await server.waitForLog((l) => l.msg === "serving worker terminated", "the worker to end");

    const controller = new AbortController();
    const gone = fetch(`${base}/v1/segment`, {
      method: "POST",
      body: big,
      headers: { "content-type": "image/jpeg" },
      signal: controller.signal,
    }).catch(() => null);
    setTimeout(() => controller.abort(), 250); // mid-decode, before the deadline
    await gone;
    const line = await server.waitForLog(
      (l) => l.msg === "request" && l.status === 499,
      "the abandoned request to be logged as 499",
    );
    assert.equal(line.route, "/v1/segment");

    // the pool recovered: a normal request is answered
    const ok = await fetch(`${base}/v1/segment`, {
      method: "POST",
      body: makeJpeg(64, 48),
      headers: { "content-type": "image/jpeg" },
    });
    await ok.body?.cancel();
    assert.equal(ok.status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /tinyunet_http_requests_total\{[^}]*status="499"[^}]*\} 1/);
  },
});
