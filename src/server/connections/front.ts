/**
 * The TCP front: the public port is a plain `Deno.listen` socket whose connections are
 * relayed to `Deno.serve` on a private loopback port (TCP, not a Unix socket: the
 * container and systemd unit grant no write permission), because Deno.serve (Deno 2.9) has no
 * header-read timeout, no idle keep-alive timeout and no connection limit, and its accept
 * loop ends the process when file descriptors run out ("Too many open files"). node:http
 * in Deno was tried first: its `headersTimeout` left a slow-header socket open and
 * `maxConnections` was not honoured.
 *
 * Per connection the front follows where each request's head and body are (framing.ts: every
 * head of a pipelined stream gets the front's tag; a body is never read as a head):
 * - **header timeout**: from the first byte of a request (or the connect) until the blank
 *   line that ends its head, at most `headerTimeoutMs`;
 * - **idle timeout**: after the server's last bytes, a connection that sends nothing for
 *   `idleTimeoutMs` is closed (a request being processed is never idle: the timer only runs
 *   once an answer has started; a body still arriving after its answer must keep coming);
 * - **the server's close**: when Deno.serve closes its leg (an early `connection: close`
 *   answer such as 413, while the client still uploads), the client's side is half-closed
 *   and what it still sends is read and dropped for up to {@link LINGER_MS}, so that the answer
 *   is not destroyed by a reset;
 * - **limit**: beyond `maxConnections` open (lowered to what the open-files limit allows,
 *   re-read every second: 3 descriptors a connection), a new connection gets a JSON 503
 *   `too_many_connections` and is closed — except a liveness probe (`GET|HEAD
 *   /v2/health/live`, its head already sent): the front answers it 200 itself, since the
 *   process is alive, only full (a restart would drop every connection it holds). At most
 *   {@link MAX_SNIFFING} refused connections at a time wait ≤ {@link SNIFF_MS} for a head
 *   (a newly refused one ends the oldest wait once it has lasted {@link SNIFF_MIN_MS});
 * - **head size**: a request head over 32 KiB gets JSON 414 `uri_too_long` (when its
 *   request line is over 16 KiB) or 431 `header_too_large`, and the connection is closed;
 * - **fd exhaustion**: a failed accept (EMFILE) is logged, the loop backs off (up to 1 s)
 *   and keeps going; the listener stays open.
 *
 * Cost: one extra read and write per chunk on loopback, no parsing beyond request framing
 * (heads scanned, bodies skipped by their length); both legs run with TCP_NODELAY (with
 * Nagle's algorithm a relayed answer's last segment waited for the peer's delayed ACK: p50
 * 53 ms at c=1). A request
 * that reaches the private port without the front's per-process token (client_gone.ts) is
 * refused 403 `not_through_front`, so local users cannot skip these limits.
 *
 * @module
 */
import { log } from "../log.ts";
import { openFilesLimit } from "../fd_limit.ts";
import { clientGone, CONNECTION_HEADER, connectionTag } from "./client_gone.ts";
import { type CloseReason, connectionStats } from "./stats.ts";
import { MAX_HEAD_BYTES, RequestFraming } from "./framing.ts";

/** Front settings. */
export interface FrontOptions {
  hostname: string;
  port: number;
  /** the private loopback port Deno.serve listens on */
  upstreamPort: number;
  maxConnections: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
}

/** How long a client may go on sending after the server closed its leg (its bytes dropped). */
export const LINGER_MS = 2000;

/** A running front. */
export class TcpFront {
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #relays = new Set<Promise<void>>();
  #closing = false;
  readonly done: Promise<void>;

  /** where Deno.serve listens (changes if it has to listen again) */
  upstreamPort: number;

  constructor(readonly options: FrontOptions) {
    this.upstreamPort = options.upstreamPort;
    this.#listener = Deno.listen({ hostname: options.hostname, port: options.port });
    connectionStats.max = options.maxConnections;
    this.done = this.#acceptLoop();
  }

  /** The public address. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Stops accepting new connections (the port closes). */
  stopAccepting(): void {
    this.#closing = true;
    try {
      this.#listener.close();
    } catch { /* closed */ }
  }

  /**
   * Stops accepting, lets relays finish what the server already answered (they end when
   * the server closes its side, as Deno.serve's `shutdown()` does), and after `graceMs`
   * closes what is left.
   */
  async close(graceMs = 2000): Promise<void> {
    this.stopAccepting();
    await this.done;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#relays),
      new Promise((r) => (timer = setTimeout(r, graceMs))),
    ]);
    clearTimeout(timer);
    for (const c of this.#conns) safeClose(c);
  }

  #limitCheckedAt = 0;
  #fdLimit = Infinity;

  /** The configured maximum, lowered to what the open-files limit allows (re-read each second). */
  #limit(): number {
    const now = performance.now();
    if (now - this.#limitCheckedAt > 1000) {
      this.#limitCheckedAt = now;
      this.#fdLimit = fdConnectionLimit();
    }
    const limit = Math.min(this.options.maxConnections, this.#fdLimit);
    connectionStats.max = limit;
    return limit;
  }

  async #acceptLoop() {
    let backoff = 10;
    while (!this.#closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoff = 10;
      } catch (err) {
        if (this.#closing) return;
        const message = (err as Error).message;
        if (/too many open files|EMFILE|ENFILE/i.test(message)) {
          connectionStats.closed.fd_exhausted++;
          log("error", "out of file descriptors; accepting again shortly", {
            open: connectionStats.open,
            retry_ms: backoff,
          });
          await new Promise((r) => setTimeout(r, backoff));
          backoff = Math.min(backoff * 2, 1000);
          continue;
        }
        if (err instanceof Deno.errors.BadResource) return;
        log("error", "accept failed", { error: message });
        await new Promise((r) => setTimeout(r, backoff));
        continue;
      }
      connectionStats.accepted++;
      if (this.#conns.size >= this.#limit()) {
        await makeRoom();
        void refuse(conn);
        continue;
      }
      const relay = this.#relay(conn);
      this.#relays.add(relay);
      relay.finally(() => this.#relays.delete(relay));
    }
  }

  #nextId = 1;

  async #relay(client: Deno.TcpConn) {
    const id = this.#nextId++;
    const tag = new TextEncoder().encode(`${CONNECTION_HEADER}: ${connectionTag(id)}\r\n`);
    this.#conns.add(client);
    connectionStats.open++;
    let upstream: Deno.TcpConn | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms: number, reason: CloseReason) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        connectionStats.closed[reason]++;
        safeClose(client);
        if (upstream) safeClose(upstream);
      }, ms);
    };
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.upstreamPort })
        .catch(() => undefined);
      if (!upstream) {
        // no descriptor for the upstream leg: answer as over the limit (a liveness probe
        // 200, anything else 503) rather than closing in silence; counted as fd_exhausted
        await refuse(client, "fd_exhausted");
        return;
      }
      // no Nagle on either leg: a relayed answer's last small segment would otherwise wait
      // for the peer's delayed ACK (~40 ms a request at concurrency 1)
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      const up = upstream;
      const framing = new RequestFraming();
      // withServer: a request's head has ended and no answer has begun since (being processed
      // is never idle: no timer); answered: some answer has begun on this connection; upOpen:
      // writes to the server's leg go through (once one fails, its answer may still be coming:
      // the client's bytes are dropped meanwhile, and the connection lingers)
      let withServer = false, answered = false, serverClosed = false, upOpen = true;
      let timing: "head" | "body" | "idle" | "linger" | undefined = "head";
      arm(this.options.headerTimeoutMs, "header_timeout"); // from the connect
      /** Runs `ms` from now unless that timer already runs. */
      const once = (kind: "head" | "body", ms: number, reason: CloseReason) => {
        if (timing !== kind) arm(ms, reason);
        timing = kind;
      };
      /**
       * The timer for where the connection is now; `serverBytes`: the server just sent some
       * (the idle timer runs from its last bytes).
       */
      const settle = (serverBytes = false) => {
        const header = this.options.headerTimeoutMs;
        if (timing === "linger") return;
        if (serverClosed || !upOpen) {
          arm(LINGER_MS, "linger_timeout");
          timing = "linger";
        } else if (framing.inHead) {
          once("head", header, "header_timeout"); // from a request line's first byte
        } else if (withServer) {
          clearTimeout(timer); // the server has the request (its body may still be arriving)
          timing = undefined;
        } else if (framing.inBody || framing.opaque) {
          // answered before the body arrived (or a framing not followed): as long as a head
          once("body", header, "header_timeout");
        } else if (!answered) {
          once("head", header, "header_timeout"); // nothing asked yet (blank lines at most)
        } else if (serverBytes || timing !== "idle") {
          arm(this.options.idleTimeoutMs, "idle_timeout"); // from the server's last bytes
          timing = "idle";
        }
      };
      const fromClient = (async () => {
        const buf = new Uint8Array(64 * 1024);
        for (;;) {
          const n = await client.read(buf).catch(() => null);
          if (n === null) break;
          if (serverClosed || !upOpen) continue; // lingering: dropped (the timer closes it)
          const { tags, heads, tooLarge } = framing.feed(buf.subarray(0, n));
          if (heads > 0) withServer = true;
          if (tooLarge) {
            // answered here, in the API's JSON shape (Deno.serve would send an empty 400)
            await writeAll(client, tooLarge === "line" ? URI_TOO_LONG : HEAD_TOO_LARGE);
            safeClose(client);
            safeClose(up);
            break;
          }
          settle();
          let from = 0, sent = true;
          for (const at of tags) {
            sent &&= (await writeAll(up, buf.subarray(from, at))) && (await writeAll(up, tag));
            from = at;
          }
          if (!(sent && (await writeAll(up, buf.subarray(from, n))))) {
            // the server closed with this request's body unread (an early answer): not the
            // client's connection yet, the answer may be on its way
            upOpen = false;
            settle();
          }
        }
        clientGone(id);
        // The client's end closed: close ours too (not a half-close). Deno.serve treats a
        // closed connection as the client leaving (request.signal, 499 `aborted`), as it
        // would without the front; a half-close would leave the request running for nobody.
        safeClose(up);
        safeClose(client);
      })();
      const fromServer = (async () => {
        const buf = new Uint8Array(64 * 1024);
        for (;;) {
          const n = await up.read(buf).catch(() => null);
          if (n === null) break;
          // an interim "HTTP/1.1 100 Continue" is not the answer: the body follows it
          if (!isInterim(buf, n)) {
            answered = true;
            withServer = false; // a request pipelined behind it: under the idle timer (answers are not parsed)
            settle(true);
          }
          if (!(await writeAll(client, buf.subarray(0, n)))) {
            safeClose(client);
            return;
          }
        }
        // the server closed its leg: end ours to the client, drop what it still sends
        serverClosed = true;
        try {
          await client.closeWrite();
        } catch { /* closed */ }
        if (framing.idle && upOpen) safeClose(client);
        else settle();
      })();
      await Promise.all([fromClient, fromServer]);
    } catch (err) {
      if (!(err instanceof Deno.errors.BadResource)) {
        log("warn", "connection relay failed", { error: (err as Error).message });
      }
    } finally {
      clientGone(id);
      clearTimeout(timer);
      safeClose(client);
      if (upstream) safeClose(upstream);
      this.#conns.delete(client);
      connectionStats.open--;
    }
  }
}

/**
 * Connections the open-files limit leaves room for: each relayed connection holds three
 * descriptors (the client, both ends of the private connection), and 64 stay for everything else.
 */
export function fdConnectionLimit(): number {
  const max = openFilesLimit();
  return max === null ? Infinity : Math.max(16, Math.floor((max - 64) / 3));
}

const INTERIM = new TextEncoder().encode("HTTP/1.1 1");
function isInterim(buf: Uint8Array, n: number): boolean {
  if (n < INTERIM.length) return false;
  for (let i = 0; i < INTERIM.length; i++) if (buf[i] !== INTERIM[i]) return false;
  return true;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    return true;
  } catch {
    return false;
  }
}

function safeClose(conn: Deno.Conn) {
  try {
    conn.close();
  } catch { /* already closed */ }
}

function jsonResponse(status: string, code: string, error: string): Uint8Array {
  const body = JSON.stringify({ error, code });
  return new TextEncoder().encode(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\nconnection: close\r\n` +
      `content-length: ${body.length}\r\n\r\n${body}`,
  );
}
const URI_TOO_LONG = jsonResponse(
  "414 URI Too Long",
  "uri_too_long",
  `the request head is longer than ${MAX_HEAD_BYTES} bytes, its request line over ${
    MAX_HEAD_BYTES / 2
  }`,
);
const HEAD_TOO_LARGE = jsonResponse(
  "431 Request Header Fields Too Large",
  "header_too_large",
  `the request head is longer than ${MAX_HEAD_BYTES} bytes`,
);

const REFUSAL = new TextEncoder().encode(
  (() => {
    const body = JSON.stringify({
      error: "too many open connections; retry shortly",
      code: "too_many_connections",
    });
    return "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n" +
      `retry-after: 1\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
  })(),
);

/** Refused connections waiting for their request head at once (each holds a descriptor). */
export const MAX_SNIFFING = 32;
/** The longest a refused connection may take to show its head (a probe's is sent already). */
export const SNIFF_MS = 50;
/** The shortest wait: a newly refused connection ends an older wait only after this. */
export const SNIFF_MIN_MS = 2;
/** The refused connections waiting now, oldest first: when each began, how to end it. */
const sniffing: { since: number; cut: () => void }[] = [];

/**
 * Frees a waiting place for the next refused connection: ends the oldest wait once it has
 * lasted {@link SNIFF_MIN_MS} (the accept loop waits meanwhile — at most ~16,000 refusals a
 * second, each with a fair chance to show a liveness probe's head).
 */
async function makeRoom() {
  while (sniffing.length >= MAX_SNIFFING) {
    const wait = SNIFF_MIN_MS - (performance.now() - sniffing[0].since);
    if (wait <= 0) sniffing.shift()!.cut();
    else await new Promise((r) => setTimeout(r, wait));
  }
}

const LIVE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n" +
    'content-length: 13\r\n\r\n{"live":true}',
);
const LIVENESS_PROBE = /^(GET|HEAD) \/v2\/health\/live[ ?]/;

/**
 * Answers a connection over the limit (or one that cannot be relayed: `fd_exhausted`):
 * liveness probes 200, everything else 503.
 */
async function refuse(conn: Deno.Conn, reason: "over_limit" | "fd_exhausted" = "over_limit") {
  let head = "";
  if (sniffing.length < MAX_SNIFFING) {
    const entry = { since: performance.now(), cut: () => {} };
    const stop = new Promise<void>((r) => (entry.cut = r));
    sniffing.push(entry);
    head = await readStart(conn, SNIFF_MS, stop);
    const i = sniffing.indexOf(entry);
    if (i >= 0) sniffing.splice(i, 1);
  }
  const answer = LIVENESS_PROBE.test(head) ? LIVE : REFUSAL;
  connectionStats.closed[answer === LIVE ? "live_at_limit" : reason]++;
  await writeAll(conn, answer);
  // closing with unread request bytes would reset the connection (RST) and could destroy
  // the answer before the client reads it: end our side, read what is left, then close
  if (head) await lingerClose(conn, SNIFF_MS);
  safeClose(conn);
}

/** Half-closes `conn` and reads (discarding) until the peer closes or `ms` pass. */
async function lingerClose(conn: Deno.Conn, ms: number) {
  try {
    await conn.closeWrite();
  } catch {
    return;
  }
  const buf = new Uint8Array(4096);
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<null>((r) => (timer = setTimeout(() => r(null), deadline - performance.now()))),
    ]);
    clearTimeout(timer);
    if (n === null) return;
  }
}

/** The first bytes a connection sends within `ms` or until `stop` (latin1; "" if none). */
async function readStart(conn: Deno.Conn, ms: number, stop: Promise<void>): Promise<string> {
  const buf = new Uint8Array(256);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const n = await Promise.race([
    conn.read(buf).catch(() => null),
    new Promise<null>((r) => (timer = setTimeout(() => r(null), ms))),
    stop.then(() => null),
  ]);
  clearTimeout(timer);
  return n ? String.fromCharCode(...buf.subarray(0, n)) : "";
}
