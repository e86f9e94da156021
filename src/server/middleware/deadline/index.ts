/**
 * A per-request deadline: after `ms` the client gets `504 {"code":"timeout"}` even if
 * the handler is still busy, and `c.get("deadline")` is an AbortSignal that fires then
 * (or when the client disconnects), for handlers to pass to the model queue so a request
 * that times out while waiting leaves the queue and frees its slot.
 *
 * Not `hono/timeout`: that one neither exposes a signal nor answers in the API's JSON
 * error shape (its HTTPException would reach the generic 500 handler).
 *
 * @example
 * ```ts
 * app.use("*", deadline(30_000));
 * app.post("/run", async (c) => c.json(await model.infer(feeds, "fp32", c.get("deadline"))));
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../env.ts";
import { ApiError } from "../../../errors.ts";
import { errorBody } from "../../errors.ts";
import {
  ClientDisconnectedError,
  CONNECTION_HEADER,
  connectionOf,
  onClientGone,
} from "../../connections/client_gone.ts";

/** Context variables this middleware sets. */

/** The deadline middleware. */
export function deadline(ms: number): MiddlewareHandler<AppEnv> {
  return async function deadline(c, next) {
    // One controller fed by the timer and the client's disconnect (not AbortSignal.any,
    // whose per-call bookkeeping is only freed by finalizers, which lag behind under load).
    const controller = new AbortController();
    const client = c.req.raw.signal;
    const onDisconnect = () => controller.abort(new ClientDisconnectedError());
    client.addEventListener("abort", onDisconnect, { once: true });
    // behind the TCP front, the front says at once when the connection closes
    const connection = connectionOf(c.req.header(CONNECTION_HEADER));
    const unsubscribe = connection === undefined
      ? undefined
      : onClientGone(connection, onDisconnect);
    c.set("deadline", controller.signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new Error(`deadline of ${ms} ms passed`));
        resolve("expired");
      }, ms);
    });
    const work = next();
    try {
      const winner = await Promise.race([work.then(() => "done" as const), expired]);
      if (winner === "expired") {
        work.catch(() => {}); // finishes (or fails) unobserved
        const err = new ApiError("timeout", `request did not finish within ${ms} ms`);
        return c.json(errorBody(err), 504);
      }
    } finally {
      clearTimeout(timer);
      client.removeEventListener("abort", onDisconnect);
      unsubscribe?.();
    }
  };
}
