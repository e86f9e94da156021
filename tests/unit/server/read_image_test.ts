import assert from "node:assert/strict";
import { countFormParts } from "../../../src/server/read_image.ts";

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
