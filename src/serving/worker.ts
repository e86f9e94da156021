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
import type { WorkerReply, WorkerRequest } from "./pool.ts";

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const request = e.data;
  const { id } = request;
  let reply: WorkerReply;
  try {
    const value = request.stage === "prepare"
      ? await prepare(request.input)
      : finish(request.input);
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
  self.postMessage(reply, { transfer: reply.ok ? transferables(reply.value) : [] });
};
