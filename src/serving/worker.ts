/**
 * A pool worker: runs `prepare` and `finish` (src/serving/stages.ts) for the HTTP thread
 * and posts the result back with its buffers transferred, not copied. Errors go back as
 * `{code, message}` so API errors keep their status.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { ApiError } from "../errors.ts";
import { finish, prepare, transferables } from "./stages.ts";
import { encodeV2Json, parseV2Request, v2Transferables } from "../server/v2_tensors.ts";
import type { WorkerReply, WorkerRequest } from "./pool.ts";
import type { V2Request } from "../server/v2_tensors.ts";
import { collectGarbage, IdleCollector } from "../memory/collect.ts";
import { idleGcMs } from "../memory/idle_gc_setting.ts";

// A 16 Mpx decode leaves ~100 MB of garbage; collecting it before the next stage allocates
// keeps the peak at one image's worth (V8 would otherwise collect it later, on its own).
const LARGE_PIXELS = 4_000_000;
const LARGE_BYTES = 4 * 2 ** 20;

/** what small images leave (decoded pixels, PNG chunks) goes once the pool is idle */
const idle = new IdleCollector(idleGcMs());

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const request = e.data;
  const { id } = request;
  let reply: WorkerReply;
  try {
    const value = request.stage === "prepare"
      ? await prepare(request.input)
      : request.stage === "finish"
      ? await finish(request.input)
      : request.stage === "v2-json"
      ? encodeV2Json(request.input)
      : parseV2Request(request.input.body, request.input.headerLength, request.input.maxElements);
    reply = { id, ok: true, value };
  } catch (err) {
    const e = err as Error;
    reply = {
      id,
      ok: false,
      error: {
        code: err instanceof ApiError ? err.code : undefined,
        message: e?.message ?? String(err),
      },
    };
  }
  const transfer = !reply.ok
    ? []
    : request.stage === "v2"
    ? v2Transferables(reply.value as V2Request)
    : request.stage === "v2-json"
    ? [(reply.value as Uint8Array).buffer as ArrayBuffer]
    : transferables(reply.value);
  self.postMessage(reply, { transfer });
  if (request.stage === "v2" || request.stage === "v2-json") {
    collectGarbage(); // the parsed or written JSON (only large ones come here)
    idle.touch();
    return;
  }
  const image = request.stage === "finish"
    ? request.input.image
    : reply.ok && "image" in reply.value
    ? reply.value.image
    : undefined;
  const large = image
    ? image.width * image.height > LARGE_PIXELS
    : request.stage === "prepare" && request.input.bytes.byteLength > LARGE_BYTES;
  if (large) collectGarbage();
  idle.touch();
};
