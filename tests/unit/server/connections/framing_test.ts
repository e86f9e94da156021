/**
 * The front's request framing: a tag after every request line of a pipelined stream, never in
 * a body (Content-Length or chunked, whatever the body holds), the same whichever way the
 * stream is cut into reads; bare-LF lines, blank lines before a request line, oversized heads,
 * and framings it cannot follow (then opaque: no more tags).
 */
import assert from "node:assert/strict";
import { MAX_HEAD_BYTES, RequestFraming } from "../../../../src/server/connections/framing.ts";

const enc = new TextEncoder();

/** The offsets (in the whole stream) where tags go, feeding it in reads of `step` bytes. */
function tagsOf(stream: string, step = Infinity): number[] {
  const bytes = enc.encode(stream);
  const framing = new RequestFraming();
  const tags: number[] = [];
  for (let at = 0; at < bytes.length; at += Math.min(step, bytes.length)) {
    const part = bytes.subarray(at, Math.min(at + step, bytes.length));
    for (const t of framing.feed(part).tags) tags.push(at + t);
  }
  return tags;
}

/** The offset just after the first `line` at or after `from`. */
const after = (stream: string, line: string, from = 0) => stream.indexOf(line, from) + line.length;

// a body that looks like a request: it must not be tagged
const FAKE = "GET /v2 HTTP/1.1\r\nHost: y\r\n\r\n";

Deno.test("framing: every pipelined request line is tagged, bodies never, in any cut of the stream", () => {
  const chunked = `7;ext=1\r\n${FAKE.slice(0, 7)}\r\n${(FAKE.length - 7).toString(16)}\r\n` +
    `${FAKE.slice(7)}\r\n0\r\nTrailer: x\r\n\r\n`;
  const stream = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
    `POST /b HTTP/1.1\r\nContent-Length: ${FAKE.length}\r\n\r\n${FAKE}` +
    `POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}` +
    "GET /d HTTP/1.1\r\nHost: x\r\n\r\n";
  const want = [
    after(stream, "GET /a HTTP/1.1\r\n"),
    after(stream, "POST /b HTTP/1.1\r\n"),
    after(stream, "POST /c HTTP/1.1\r\n"),
    after(stream, "GET /d HTTP/1.1\r\n"),
  ];
  for (const step of [Infinity, 1, 2, 3, 7, 64]) assert.deepEqual(tagsOf(stream, step), want);
});

Deno.test("framing: bare-LF lines and blank lines before a request line", () => {
  const lf =
    "GET /a HTTP/1.1\nHost: x\n\nPOST /b HTTP/1.1\nContent-Length: 3\n\nabcGET /c HTTP/1.1\n\n";
  assert.deepEqual(tagsOf(lf), [
    after(lf, "GET /a HTTP/1.1\n"),
    after(lf, "POST /b HTTP/1.1\n"),
    after(lf, "GET /c HTTP/1.1\n"),
  ]);
  const blank = "\r\n\r\nGET /a HTTP/1.1\r\n\r\n";
  assert.deepEqual(tagsOf(blank), [after(blank, "GET /a HTTP/1.1\r\n")]);
});

Deno.test("framing: where the stream is between requests, in a head or in a body", () => {
  const f = new RequestFraming();
  assert.ok(f.idle && !f.inHead && !f.inBody);
  // a blank line after a body (or before a request line) is not a head yet
  assert.equal(f.feed(enc.encode("\r\n")).heads, 0);
  assert.ok(f.idle && !f.inHead);
  f.feed(enc.encode("POST /b HTTP/1.1\r\nContent-Le"));
  assert.ok(f.inHead);
  assert.equal(f.feed(enc.encode("ngth: 5\r\n\r\nab")).heads, 1);
  assert.ok(f.inBody && !f.inHead);
  f.feed(enc.encode("cde"));
  assert.ok(f.idle);
});

Deno.test("framing: an oversized head says whether its request line is to blame", () => {
  const long = new RequestFraming().feed(enc.encode(`GET /${"a".repeat(MAX_HEAD_BYTES)}`));
  assert.equal(long.tooLarge, "line");
  const f = new RequestFraming();
  assert.equal(f.feed(enc.encode("GET / HTTP/1.1\r\n")).tooLarge, undefined);
  assert.equal(f.feed(enc.encode(`X-Big: ${"a".repeat(MAX_HEAD_BYTES)}`)).tooLarge, "head");
});

Deno.test("framing: a framing it cannot follow makes the stream opaque (no more tags)", () => {
  for (
    const head of [
      "Transfer-Encoding: gzip",
      "Content-Length: 3, 4",
      "Content-Length: -1",
      "Content-Length: 0x10",
    ]
  ) {
    const stream = `POST /b HTTP/1.1\r\n${head}\r\n\r\nabcGET /c HTTP/1.1\r\n\r\n`;
    assert.deepEqual(tagsOf(stream), [after(stream, "POST /b HTTP/1.1\r\n")], head);
  }
  const badChunk =
    "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /c HTTP/1.1\r\n\r\n";
  assert.deepEqual(tagsOf(badChunk), [after(badChunk, "POST /b HTTP/1.1\r\n")]);
  // leading zeros, as hyper takes them: a length, a chunk size
  const zeros =
    "POST /b HTTP/1.1\r\nContent-Length: 00000000000000003\r\n\r\nabcGET /c HTTP/1.1\r\n\r\n";
  assert.equal(tagsOf(zeros).length, 2);
  const chunk = "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "00000000000000003\r\nabc\r\n0\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
  assert.equal(tagsOf(chunk).length, 2);
  // the same Content-Length twice is one length
  const twice =
    "POST /b HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\n\r\n";
  assert.equal(tagsOf(twice).length, 2);
});
