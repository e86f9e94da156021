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
