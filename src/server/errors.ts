/**
 * Turns any thrown error into the API's JSON error response. Client-caused errors
 * ({@link ApiError}, queue backpressure, deadlines) keep their status; anything else is a
 * 500 whose details go to the log, not the client.
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { EngineHangError } from "../engines/engine.ts";
import { QueueAbortedError, QueueFullError } from "../models/queue.ts";
import { ApiError } from "../errors.ts";
import { StageAbortedError } from "../serving/pool.ts";
import { ClientDisconnectedError } from "./connections/client_gone.ts";

/** Maps an error to an {@link ApiError}; `null` for unexpected (server) errors. */
export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof QueueFullError) {
    return new ApiError("queue_full", `server busy: ${err.message}; retry later`, {
      "Retry-After": String(err.retryAfterSeconds),
    });
  }
  if (err instanceof QueueAbortedError || err instanceof StageAbortedError) {
    if (err.reason instanceof ClientDisconnectedError) {
      return new ApiError("aborted", "the client closed the connection");
    }
    return new ApiError("timeout", `request ${err.message}`);
  }
  if (err instanceof EngineHangError) {
    return new ApiError("model_not_ready", `${err.message}; the engine was restarted, retry`, {
      "Retry-After": "1",
    });
  }
  if (err instanceof HTTPException) {
    if (err.status === 413) {
      return new ApiError("too_large", err.message || "request body too large");
    }
    if (err.status === 400) return new ApiError("bad_request", err.message || "malformed request");
  }
  return null;
}

/** JSON body of an error response. */
export function errorBody(err: ApiError) {
  return { error: err.message, code: err.code };
}

/** Hono `onError` handler. */
export function handleError(err: Error, c: Context): Response {
  const api = toApiError(err);
  if (api) return c.json(errorBody(api), api.status as 400, api.headers);
  console.error(
    JSON.stringify({
      level: "error",
      msg: "unhandled error",
      path: c.req.path,
      error: String(err?.stack ?? err),
    }),
  );
  return c.json({ error: "internal server error", code: "internal" }, 500);
}
