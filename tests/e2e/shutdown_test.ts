/**
 * Graceful shutdown of the real server process (`deno run -A main.ts`): a request whose
 * handler is running (still uploading its image) when SIGTERM arrives gets its full
 * answer, requests arriving meanwhile get 503 `shutting_down`, the listener then closes,
 * and the process exits 0. "Running" is proven, not guessed: the request says
 * `Expect: 100-continue`, and the server sends `100 Continue` only once the handler
 * starts reading the body. (Deno 2.9's own `shutdown()` would cut that upload:
 * denoland/deno#36809; see src/server/middleware/drain.)
 */
import assert from "node:assert/strict";
import { makePng } from "../helpers/images.ts";
import { makeRepo } from "../helpers/model_repo.ts";
import { spawnServer } from "../helpers/server_process.ts";
import { waitUntil } from "../helpers/wait.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads from a connection until `done(bytes)` says so or it closes. */
async function readUntil(
  conn: Deno.Conn,
  got: Uint8Array[],
  done: (text: string) => boolean,
): Promise<string> {
  const buf = new Uint8Array(64 * 1024);
  while (!done(dec.decode(concat(got)))) {
    const n = await conn.read(buf);
    if (n === null) break;
    got.push(buf.slice(0, n));
  }
  return dec.decode(concat(got));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

Deno.test({
  name:
    "SIGTERM: the in-flight upload completes, newcomers get 503 shutting_down, then the port closes and the exit code is 0",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await makeRepo([{ name: "lesion" }]);
    await using server = spawnServer(root);
    const { port } = server;
    await server.waitForLog((l) => l.msg === "ready", "the server to be ready", 90_000);

    const png = makePng(64, 48, 3);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const head = [
      "POST /v1/segment?format=json HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Content-Type: image/png",
      `Content-Length: ${png.length}`,
      "Expect: 100-continue",
      "Connection: close",
      "",
      "",
    ].join("\r\n");
    await conn.write(enc.encode(head));
    const got: Uint8Array[] = [];
    const interim = await readUntil(conn, got, (t) => t.includes("\r\n\r\n"));
    assert.match(interim, /^HTTP\/1\.1 100 Continue/, "the handler started reading the body");
    got.length = 0;

    server.kill("SIGTERM");
    await server.waitForLog((l) => l.msg === "shutting down", "the shutdown to begin");
    const late = await fetch(`http://127.0.0.1:${port}/v2/health/ready`);
    assert.equal(late.status, 503);
    assert.equal((await late.json()).code, "shutting_down");
    assert.equal(late.headers.get("retry-after"), "1");
    assert.equal(server.exited, undefined, "the process waits for the in-flight request");

    await conn.write(png);
    const response = await readUntil(conn, got, () => false);
    conn.close();
    const [statusLine] = response.split("\r\n");
    assert.equal(statusLine, "HTTP/1.1 200 OK", response.slice(0, 300) + server.lines.join("\n"));
    const body = JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4));
    assert.equal(body.model, "lesion");
    assert.deepEqual([body.width, body.height], [64, 48]);

    // the listener closes once nothing is in flight
    await waitUntil(
      async () => {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port })).close();
          return false;
        } catch {
          return true;
        }
      },
      "new connections to be refused",
      20_000,
    );
    const status = await server.status();
    assert.equal(status.code, 0, server.lines.slice(-10).join("\n"));
    assert.ok(server.json().some((l) => l.msg === "stopped"));
    await Deno.remove(root, { recursive: true });
  },
});
