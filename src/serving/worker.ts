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
import { encodeV2Json, parseV2Request } from "../server/v2_tensors.ts";
import type { Stage, Stages, WorkerReply, WorkerRequest } from "./pool.ts";
import { collectGarbage, IdleCollector } from "../memory/collect.ts";
import { idleGcMs } from "../memory/idle_gc_setting.ts";

// A 16 Mpx decode leaves ~100 MB of garbage; collecting it before the next stage allocates
// keeps the peak at one image's worth (V8 would otherwise collect it later, on its own).
const LARGE_PIXELS = 4_000_000;
const LARGE_BYTES = 4 * 2 ** 20;

/** what small images leave (decoded pixels, PNG chunks) goes once the pool is idle */
const idle = new IdleCollector(idleGcMs());

/** Runs a job's stage. */
async function runStage(request: WorkerRequest): Promise<Stages[Stage]["result"]> {
  switch (request.stage) {
    case "prepare":
      return await prepare(request.input);
    case "finish":
      return await finish(request.input);
    case "v2": {
      const { body, headerLength, maxElements } = request.input;
      return parseV2Request(body, headerLength, maxElements);
    }
    case "v2-json":
      return encodeV2Json(request.input);
  }
}

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const request = e.data;
  const { id } = request;
  let reply: WorkerReply;
  try {
    reply = { id, ok: true, value: await runStage(request) };
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
  self.postMessage(reply, { transfer: reply.ok ? transferables(reply.value) : [] });
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
