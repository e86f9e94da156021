import assert from "node:assert/strict";
import { readRequestBytes } from "../../../src/server/read_body.ts";
import { ApiError } from "../../../src/errors.ts";

/** A POST whose body arrives as `chunks`, with the given Content-Length (none: chunked). */
function post(chunks: number[][], contentLength?: number): Request {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(new Uint8Array(chunk));
      c.close();
    },
  });
  const headers: Record<string, string> = contentLength === undefined
    ? {}
    : { "content-length": String(contentLength) };
  return new Request("http://x/", { method: "POST", body, headers });
}

Deno.test("read body: chunks copied into one buffer of the declared length", async () => {
  const bytes = await readRequestBytes(post([[1, 2], [3], [4, 5, 6]], 6));
  assert.deepEqual([...bytes], [1, 2, 3, 4, 5, 6]);
  assert.equal(bytes.buffer.byteLength, 6, "allocated once, at the Content-Length");
});

Deno.test("read body: without a Content-Length the whole stream is read", async () => {
  assert.deepEqual([...await readRequestBytes(post([[9], [8, 7]]))], [9, 8, 7]);
});

Deno.test("read body: shorter or longer than declared is a 400", async () => {
  for (const [chunks, declared] of [[[[1, 2]], 5], [[[1, 2], [3, 4]], 3]] as const) {
    await assert.rejects(
      readRequestBytes(post(chunks.map((c) => [...c]), declared)),
      (e) => e instanceof ApiError && e.code === "bad_request",
    );
  }
});
