/**
 * The abort signal a route hands to the model queue: the deadline middleware's signal
 * (fires at the request deadline or when the client disconnects, freeing a waiting queue
 * slot), or a plain timeout when the app runs without that middleware.
 *
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "./env.ts";

/** The request's deadline signal. */
export function requestSignal(c: Context<AppEnv>, timeoutMs: number): AbortSignal {
  return c.var.deadline ?? AbortSignal.timeout(timeoutMs);
}
