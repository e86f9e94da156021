/**
 * The abort signal a route hands to the model queue: the deadline middleware's signal
 * (fires at the request deadline or when the client disconnects, freeing a waiting queue
 * slot), or a plain timeout when the app runs without that middleware.
 *
 * @module
 */
import type { Context } from "hono";

/** The request's deadline signal. */
export function requestSignal(c: Context, timeoutMs: number): AbortSignal {
  const fromMiddleware = (c.get as (key: string) => unknown)("deadline");
  return fromMiddleware instanceof AbortSignal ? fromMiddleware : AbortSignal.timeout(timeoutMs);
}
