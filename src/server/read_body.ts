/**
 * Reads a request body into one buffer, holding it once. `Request.arrayBuffer()` keeps
 * every chunk until the end and then joins them into a new buffer, so a body is held twice
 * at its peak (a 30 MB V2 tensor: 60 MB). With a Content-Length — already checked against
 * `TINYUNET_MAX_BODY_MB` by the body-limit middleware — the buffer is allocated once at that
 * size and each chunk is copied in as it arrives. Without one (chunked upload) the
 * body-limit middleware has collected the body already, and it is read as it is.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { releaseChunk } from "../memory/release.ts";

/**
 * The body's bytes.
 * @throws {ApiError} `bad_request` when the body ends before its Content-Length
 */
export async function readRequestBytes(req: Request): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (!req.body || !Number.isSafeInteger(declared) || req.headers.has("transfer-encoding")) {
    return new Uint8Array(await req.arrayBuffer());
  }
  const out = new Uint8Array(declared);
  const reader = req.body.getReader();
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > declared) {
      await reader.cancel();
      throw new ApiError("bad_request", `the body is longer than its Content-Length ${declared}`);
    }
    out.set(value, at);
    at += value.length;
    releaseChunk(value);
  }
  if (at !== declared) {
    throw new ApiError("bad_request", `the body ended after ${at} of ${declared} bytes`);
  }
  return out;
}
