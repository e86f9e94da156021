import assert from "node:assert/strict";
import { ApiError } from "../../../src/errors.ts";
import { mediaParams, parseMultipart, writeMultipart } from "../../../src/dicom_node/multipart.ts";

Deno.test("multipart/related: written parts read back byte for byte", () => {
  const parts = [
    { contentType: "application/dicom", bytes: crypto.getRandomValues(new Uint8Array(5000)) },
    {
      contentType: "application/dicom",
      bytes: new TextEncoder().encode("\r\n--not-a-boundary\r\n"),
    },
  ];
  const { body, contentType } = writeMultipart(parts);
  const { type, params } = mediaParams(contentType);
  assert.equal(type, "multipart/related");
  assert.equal(params.type, "application/dicom");
  const back = parseMultipart(body, params.boundary);
  assert.equal(back.length, 2);
  for (const [i, p] of back.entries()) {
    assert.equal(p.contentType, "application/dicom");
    assert.deepEqual(p.bytes, parts[i].bytes);
  }
});

Deno.test("multipart/related: quoted parameters; bad bodies are 400, not crashes", () => {
  const m = mediaParams('Multipart/Related; type="application/dicom"; boundary="a b;c"');
  assert.equal(m.type, "multipart/related");
  assert.equal(m.params.boundary, "a b;c");
  const bad = (body: string, boundary: string) =>
    assert.throws(
      () => parseMultipart(new TextEncoder().encode(body), boundary),
      (e) => e instanceof ApiError && e.code === "bad_request",
    );
  bad("no delimiter at all", "xyz");
  bad("--xyz\r\nContent-Type: application/dicom\r\n\r\nDATA", "xyz");
  bad("--xyz\r\nno header end--xyz--", "xyz");
  bad("", "");
});

Deno.test("multipart/related: parts full of near-delimiters split where the delimiter is, not before", () => {
  // a delimiter that overlaps itself ("---a-a-ab"), the first one right after a preamble that
  // begins it ("---a-a"): a search that restarts wrongly after a partial match misses it
  const boundary = "-a-a-ab";
  const delimiter = `--${boundary}`;
  const near = Array.from({ length: delimiter.length }, (_, i) => delimiter.slice(0, i)).join("");
  const contents = [`${near}---a-a-a-a-a`, `-${near}\r\n--a-a-a-`, ""];
  const body = new TextEncoder().encode(
    "---a-a" +
      contents.map((c) => `${delimiter}\r\nContent-Type: application/dicom\r\n\r\n${c}\r\n`).join(
        "",
      ) +
      `${delimiter}--\r\n`,
  );
  const parts = parseMultipart(body, boundary);
  assert.deepEqual(parts.map((p) => new TextDecoder().decode(p.bytes)), contents);
  // a body of delimiter prefixes and no delimiter: refused (in time linear in the body)
  const noDelimiter = new Uint8Array(1 << 20).fill(0x2d);
  for (let i = 71; i < noDelimiter.length; i += 72) noDelimiter[i] = 0x78;
  assert.throws(
    () => parseMultipart(noDelimiter, "-".repeat(70)),
    (e) => e instanceof ApiError && /no part delimiter/.test(e.message),
  );
});

Deno.test("multipart/related: a part without headers is its bytes (not split at a blank line inside them)", () => {
  const data = "DICM\r\n\r\nmore\n\nbytes";
  const body = new TextEncoder().encode(
    `--b\r\n\r\n${data}\r\n--b\r\nContent-Type: application/dicom\n\n${data}\r\n--b--`,
  );
  const parts = parseMultipart(body, "b");
  assert.deepEqual(parts.map((p) => p.contentType), ["", "application/dicom"]);
  for (const p of parts) assert.equal(new TextDecoder().decode(p.bytes), data);
  // a header section that never ends within its first 16 KiB is refused, not searched for further
  const long = new TextEncoder().encode(
    `--b\r\nX-Long: ${"x".repeat(20_000)}\r\n\r\nDATA\r\n--b--`,
  );
  assert.throws(() => parseMultipart(long, "b"), /no header end within/);
});
