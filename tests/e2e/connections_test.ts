/**
 * Connections against the real server process (TCP front on): with its open-files limit
 * lowered to 1024 (`prlimit`, util-linux), 2,000 idle connections do not kill it — it keeps
 * answering and serves a segmentation afterwards; idle keep-alive and slow-header sockets
 * are closed after their timeouts (1.5 s here), a body trickling at 5 B/s gets its 504 at the
 * deadline (1 s here) and is closed; `/metrics` shows the limits at work; an
 * oversized request line or head is answered with JSON 414 / 431.
 * About 15 s.
 */
import assert from "node:assert/strict";
import { ISIC_SAMPLE, readSample } from "../helpers/images.ts";
import { parsePrometheus } from "../helpers/prometheus.ts";
import { spawnShippedServer, waitReady } from "../helpers/server_process.ts";

const enc = new TextEncoder();

/** Resolves with the ms until the peer closes (or `limitMs` passes: Infinity). */
async function closedWithin(conn: Deno.Conn, limitMs: number): Promise<number> {
  const t = performance.now();
  const buf = new Uint8Array(4096);
  const timer = setTimeout(() => conn.close(), limitMs);
  try {
    while ((await conn.read(buf)) !== null) { /* answers */ }
    return performance.now() - t;
  } catch {
    return Infinity; // closed by us at the limit
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

Deno.test({
  name:
    "connections: 2,000 idle sockets under a 1024 fd limit; idle and slow-header sockets closed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = spawnShippedServer({
      TINYUNET_IDLE_TIMEOUT_MS: "1500",
      TINYUNET_HEADER_TIMEOUT_MS: "1500",
      TINYUNET_REQUEST_TIMEOUT_MS: "1000",
    });
    const { base, port } = server;
    await waitReady(base);
    // oversized request line / head: JSON errors from the front (Deno.serve: an empty 400)
    for (
      const [head, status, code] of [
        [
          `GET /v2/health/live?${"a".repeat(40_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
          414,
          "uri_too_long",
        ],
        [
          `GET /v2/health/live HTTP/1.1\r\nX-Big: ${"a".repeat(40_000)}\r\n\r\n`,
          431,
          "header_too_large",
        ],
      ] as const
    ) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(enc.encode(head)).catch(() => 0);
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(4096);
      for (let n; (n = await conn.read(buf).catch(() => null)) !== null;) {
        chunks.push(buf.slice(0, n));
      }
      conn.close();
      const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
      assert.match(text, new RegExp(`^HTTP/1.1 ${status} `), text.slice(0, 100));
      assert.equal(JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)).code, code);
    }
    const prlimit = await new Deno.Command("prlimit", {
      args: ["--pid", String(server.pid), "--nofile=1024:1024"],
    }).output();
    assert.ok(prlimit.success, new TextDecoder().decode(prlimit.stderr));
    // The front re-reads the open-files limit once a second; a real server has its limit from
    // the start, so let the lowered one come into force before the sockets below are opened.
    await new Promise((r) => setTimeout(r, 1200));

    // idle keep-alive and slow header, opened first
    const idle = await Deno.connect({ hostname: "127.0.0.1", port });
    await idle.write(enc.encode("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"));
    const slow = await Deno.connect({ hostname: "127.0.0.1", port });
    await slow.write(enc.encode("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n"));
    const idleClosed = closedWithin(idle, 6000);
    const slowClosed = closedWithin(slow, 6000);
    // a body at a few bytes a second: 504 at the 1 s deadline, then closed
    const trickle = await Deno.connect({ hostname: "127.0.0.1", port });
    await trickle.write(enc.encode(
      "POST /v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n",
    ));
    let trickling = true;
    const dripper = (async () => {
      while (trickling) {
        await trickle.write(enc.encode("x")).catch(() => (trickling = false));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const trickleAnswer = (async () => {
      const t = performance.now();
      const buf = new Uint8Array(4096);
      let text = "";
      for (let n; (n = await trickle.read(buf).catch(() => null)) !== null;) {
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      trickling = false;
      return { text, ms: performance.now() - t };
    })();

    // the three sockets above reach the server before the flood starts
    await new Promise((r) => setTimeout(r, 300));
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 2000; i++) {
      try {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      } catch { /* refused: the backlog is full */ }
    }
    const probeStart = performance.now();
    const live = await fetch(`${base}/v2/health/live`).catch((e) => e as Error);
    const probeMs = performance.now() - probeStart;
    console.log(
      `${conns.length} connections open; liveness during: ${
        live instanceof Response ? live.status : `${live.message} (${(live as Error).cause ?? ""})`
      } in ${probeMs.toFixed(0)} ms`,
    );
    assert.equal(server.exited, undefined, "the server is alive");
    // an answer, never a dropped connection: over the limit the front answers a liveness
    // probe 200 itself when it sees its head in time (tests/unit/server/connections), else 503
    assert.ok(live instanceof Response, `liveness probe dropped: ${(live as Error).message}`);
    if (live.status !== 200) {
      assert.equal(live.status, 503);
      assert.equal((await live.json()).code, "too_many_connections");
    } else await live.body?.cancel();

    for (const c of conns) c.close();
    const idleMs = await idleClosed, slowMs = await slowClosed;
    const slowBody = await trickleAnswer;
    await dripper;
    try {
      trickle.close();
    } catch { /* closed */ }
    console.log(
      `slow body: ${slowBody.text.split("\r\n")[0]}, closed after ${slowBody.ms.toFixed(0)} ms`,
    );
    assert.match(slowBody.text, /^HTTP\/1.1 504 /);
    assert.ok(slowBody.ms < 6000, `the slow-body socket was closed after ${slowBody.ms} ms`);
    console.log(
      `idle closed after ${idleMs.toFixed(0)} ms, slow header after ${slowMs.toFixed(0)} ms`,
    );
    assert.ok(idleMs >= 1000 && idleMs < 4000, `idle socket closed after ${idleMs} ms`);
    assert.ok(slowMs >= 1000 && slowMs < 4000, `slow-header socket closed after ${slowMs} ms`);

    await new Promise((r) => setTimeout(r, 500));
    const res = await fetch(`${base}/v1/segment`, {
      method: "POST",
      body: await readSample(ISIC_SAMPLE),
      headers: { "content-type": "image/png" },
    });
    const text = res.status === 200 ? "" : await res.text();
    await res.body?.cancel();
    assert.equal(res.status, 200, text);
    const metrics = parsePrometheus(await (await fetch(`${base}/metrics`)).text());
    const closed = (reason: string) =>
      metrics.find((m) => m.name === "tinyunet_connections_closed" && m.labels.reason === reason)
        ?.value ?? 0;
    assert.ok(closed("idle_timeout") >= 1, "idle_timeout counted");
    assert.ok(closed("header_timeout") >= 1, "header_timeout counted");
    assert.ok(closed("over_limit") >= 1, "connections over the fd-derived limit were refused");
    const max = metrics.find((m) => m.name === "tinyunet_connections" && m.labels.state === "max");
    assert.ok(max && max.value <= (1024 - 64) / 3, `limit in force ${max?.value}`);
    assert.equal(server.exited, undefined, "still alive");
    const unhandled = server.json().filter((l) =>
      l.msg === "unhandled error" || l.level === "error" && /BadResource/.test(String(l.error))
    );
    assert.deepEqual(unhandled, [], "no unhandled errors (the slow body used to log BadResource)");
  },
});

/** TCP ports process `pid` listens on (from /proc: its socket inodes in /proc/net/tcp, state LISTEN). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  return Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1).flatMap((line) => {
    const f = line.trim().split(/\s+/);
    return f.length > 9 && f[3] === "0A" && inodes.has(f[9])
      ? [parseInt(f[1].split(":")[1], 16)]
      : [];
  });
}

Deno.test({
  name: "connections: the private port behind the front refuses requests that skip the front (403)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = spawnShippedServer();
    const { base, port } = server;
    await waitReady(base);
    const ports = listeningPorts(server.pid);
    assert.ok(ports.includes(port), `public port ${port} among ${ports}`);
    const private_ = ports.filter((p) => p !== port);
    assert.ok(private_.length >= 1, `a private port besides ${port}: ${ports}`);
    for (const p of private_) {
      for (const header of [undefined, "1", "1;00000000000000000000000000000000"]) {
        const res = await fetch(`http://127.0.0.1:${p}/v2/health/live`, {
          headers: header ? { "x-tinyunet-connection": header } : {},
        });
        assert.equal(res.status, 403);
        assert.equal((await res.json()).code, "not_through_front");
      }
    }
    const live = await fetch(`${base}/v2/health/live`);
    assert.equal(live.status, 200, "through the front");
    await live.body?.cancel();
  },
});
