import assert from "node:assert/strict";
import { TcpFront } from "../../../../src/server/connections/front.ts";
import { connectionStats } from "../../../../src/server/connections/stats.ts";

/** Sends `request` on a new connection to `port` and reads the whole answer. */
async function exchange(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  const buf = new Uint8Array(4096);
  let text = "";
  for (let n; (n = await conn.read(buf).catch(() => null)) !== null;) {
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return text;
}

Deno.test("at the connection limit a liveness probe gets 200 from the front, anything else 503 JSON", async () => {
  // the upstream accepts and never answers: the one allowed connection stays open
  const upstream = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of upstream) held.push(c);
  })();
  const front = new TcpFront({
    hostname: "127.0.0.1",
    port: 0,
    upstreamPort: upstream.addr.port,
    maxConnections: 1,
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
  });
  const port = front.addr.port;
  const occupant = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (let i = 0; i < 50 && connectionStats.open < 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const before = { ...connectionStats.closed };
    const live = await exchange(port, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(live, /^HTTP\/1.1 200 /);
    assert.match(live, /\{"live":true\}$/);
    const other = await exchange(port, "GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(other, /^HTTP\/1.1 503 /);
    assert.equal(JSON.parse(other.split("\r\n\r\n")[1]).code, "too_many_connections");
    // a silent connection is refused too, after the short wait for its head
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    const buf = new Uint8Array(512);
    const n = await silent.read(buf);
    assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1.1 503 /);
    silent.close();
    assert.equal(connectionStats.closed.live_at_limit - before.live_at_limit, 1);
    assert.equal(connectionStats.closed.over_limit - before.over_limit, 2);
  } finally {
    occupant.close();
    await front.close(100);
    upstream.close();
    for (const c of held) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await accepting.catch(() => {});
  }
});

Deno.test("a connection the front cannot relay is answered (probe 200, else 503) and counted as fd_exhausted", async () => {
  // nothing listens upstream: every relay attempt fails, as when no descriptor is left for it
  const vacant = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const upstreamPort = vacant.addr.port;
  vacant.close();
  const front = new TcpFront({
    hostname: "127.0.0.1",
    port: 0,
    upstreamPort,
    maxConnections: 100,
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
  });
  try {
    const before = { ...connectionStats.closed };
    const live = await exchange(front.addr.port, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(live, /^HTTP\/1.1 200 /);
    const other = await exchange(front.addr.port, "POST /v1/segment HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(other, /^HTTP\/1.1 503 /);
    assert.equal(connectionStats.closed.fd_exhausted - before.fd_exhausted, 1);
    assert.equal(connectionStats.closed.over_limit - before.over_limit, 0);
    assert.equal(connectionStats.closed.live_at_limit - before.live_at_limit, 1);
  } finally {
    await front.close(100);
  }
});
