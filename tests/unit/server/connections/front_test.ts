import assert from "node:assert/strict";
import { TcpFront } from "../../../../src/server/connections/front.ts";
import { connectionStats } from "../../../../src/server/connections/stats.ts";
import { CONNECTION_HEADER, viaFront } from "../../../../src/server/connections/client_gone.ts";

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

/**
 * A front before a Deno.serve that answers like the API: 404 JSON at once for /missing
 * (without reading the body, as an unknown model is refused), its path otherwise; requests
 * without the front's tag 403.
 */
function frontBeforeServer(headerTimeoutMs = 5_000, idleTimeoutMs = 5_000) {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      if (!viaFront(req.headers.get(CONNECTION_HEADER))) {
        return new Response("untagged", {
          status: 403,
        });
      }
      const path = new URL(req.url).pathname;
      if (path === "/missing") return Response.json({ code: "model_not_found" }, { status: 404 });
      if (path === "/slow") {
        return new Promise((r) => setTimeout(() => r(new Response(path)), 700));
      }
      return new Response(path);
    },
  );
  const front = new TcpFront({
    hostname: "127.0.0.1",
    port: 0,
    upstreamPort: server.addr.port,
    maxConnections: 100,
    headerTimeoutMs,
    idleTimeoutMs,
  });
  return {
    port: front.addr.port,
    async [Symbol.asyncDispose]() {
      await front.close(100);
      ac.abort();
      await server.finished;
    },
  };
}

/** The statuses and bodies of the answers in `text` (Content-Length framed). */
function answers(text: string): { status: number; body: string }[] {
  const out = [];
  for (let at = 0; at < text.length;) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const head = text.slice(at, end);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    out.push({ status: Number(head.split(" ")[1]), body: text.slice(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

Deno.test("the front relays pipelined requests (one write, or cut anywhere) and keeps body bytes out of heads", async () => {
  await using s = frontBeforeServer();
  const body = "GET /in-body HTTP/1.1\r\nHost: y\r\n\r\n"; // looks like a request; is a body
  const stream = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
    `POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
    "GET /c HTTP/1.1\nHost: x\n\n" +
    "GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  for (const cut of [stream.length, 20, 61]) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    for (let at = 0; at < stream.length; at += cut) {
      await conn.write(new TextEncoder().encode(stream.slice(at, at + cut)));
      await new Promise((r) => setTimeout(r, 5));
    }
    let text = "";
    const buf = new Uint8Array(4096);
    for (let n; (n = await conn.read(buf).catch(() => null)) !== null;) {
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    conn.close();
    assert.deepEqual(answers(text), [
      { status: 200, body: "/a" },
      { status: 200, body: "/b" },
      { status: 200, body: "/c" },
      { status: 200, body: "/d" },
    ], `cut every ${cut} bytes`);
  }
});

Deno.test("an answer before the body has arrived reaches the client, then the connection closes", async () => {
  await using s = frontBeforeServer();
  const enc = new TextEncoder();
  for (const size of [100_000, 1_000_000, 4_000_000]) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    const t0 = performance.now();
    const body = new Uint8Array(size).fill(10); // newlines: a head scanner would see lines
    await conn.write(
      enc.encode(`POST /missing HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`),
    );
    // the whole body and a second request, as a client that does not wait for 100-continue
    const writing = (async () => {
      for (let at = 0; at < size; at += 65536) await conn.write(body.subarray(at, at + 65536));
      await conn.write(enc.encode("GET /after HTTP/1.1\r\nHost: x\r\n\r\n"));
    })().catch(() => {}); // the server closed: the rest is refused
    let text = "";
    const buf = new Uint8Array(65536);
    for (let n; (n = await conn.read(buf).catch(() => null)) !== null;) {
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const ms = performance.now() - t0;
    await writing;
    conn.close();
    // as Deno.serve answers without the front: the 404, `connection: close`, then the close
    // (before, the front read the body as heads: a lost answer, or a 414 after it)
    const got = answers(text);
    assert.equal(got.length, 1, `${size}: ${text.slice(0, 400)}`);
    assert.equal(got[0].status, 404);
    assert.equal(JSON.parse(got[0].body).code, "model_not_found");
    assert.match(text, /connection: close/i);
    assert.ok(ms < 4_000, `${size}: closed after ${ms.toFixed(0)} ms, not by the idle timeout`);
  }
});

Deno.test("a request the server is still processing has no timer, a blank line after its body or not; the idle timer runs after its answer", async () => {
  await using s = frontBeforeServer(300, 400);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  const t0 = performance.now();
  // processed for 700 ms, longer than either timeout; an extra CRLF after the body
  await conn.write(
    new TextEncoder().encode("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab\r\n"),
  );
  let text = "";
  const buf = new Uint8Array(4096);
  for (let n; (n = await conn.read(buf).catch(() => null)) !== null;) {
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  const ms = performance.now() - t0;
  conn.close();
  assert.deepEqual(answers(text), [{ status: 200, body: "/slow" }], text);
  // then closed by the idle timer (400 ms after the answer), not left open
  assert.ok(ms >= 1_000 && ms < 3_000, `closed after ${ms.toFixed(0)} ms`);
});
