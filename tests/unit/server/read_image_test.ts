import assert from "node:assert/strict";
import { countFormParts, formBoundary } from "../../../src/server/read_image.ts";

Deno.test("countFormParts counts a form's parts by its delimiters, stopping past the limit", async () => {
  const fd = new FormData();
  fd.append("image", new File([new Uint8Array(5000).fill(45)], "x.png", { type: "image/png" }));
  for (let i = 0; i < 5; i++) fd.append(`f${i}`, "--not-a-delimiter");
  const res = new Response(fd);
  const type = res.headers.get("content-type")!;
  const boundary = /boundary=(.+)$/.exec(type)![1];
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.equal(countFormParts(bytes, boundary, 16), 6);
  assert.equal(countFormParts(bytes, boundary, 2), 3, "stops one past the limit");
  assert.equal(countFormParts(new Uint8Array(0), boundary, 16), 0);
});

Deno.test("formBoundary reads the parameter named boundary, quoted or not, of 1-70 characters", () => {
  assert.equal(formBoundary("multipart/form-data; boundary=abc"), "abc");
  assert.equal(formBoundary('multipart/form-data; charset=x; BOUNDARY="a b;c"'), "a b;c");
  // another parameter ending in "boundary" is not it
  assert.equal(formBoundary("multipart/form-data; xboundary=zzz; boundary=real"), "real");
  assert.equal(formBoundary("multipart/form-data; xboundary=zzz"), null);
  assert.equal(formBoundary(`multipart/form-data; boundary=${"-".repeat(71)}`), null);
  assert.equal(formBoundary("multipart/form-data; boundary="), null);
});

Deno.test("countFormParts finds delimiters after a bare LF too, and a body of dashes has none extra", () => {
  const lf = new TextEncoder().encode("--b\nA\n--b\nB\n--b--\n");
  assert.equal(countFormParts(lf, "b", 16), 2);
  const boundary = "-".repeat(70);
  const dashes = new Uint8Array(1 << 20).fill(45); // one long line: a delimiter at its start only
  assert.equal(countFormParts(dashes, boundary, 16), 0);
});
