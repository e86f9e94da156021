/**
 * The Hono environment of the whole app: what middleware puts on a request's context for
 * the handlers after it (`c.var.requestId`, `c.var.deadline`, …). Every app, route module
 * and middleware is typed with it, so a misspelt or missing variable is a type error.
 *
 * @module
 */
import type { RequestIdVariables } from "hono/request-id";
import type { KeyScope } from "../config.ts";

/** Request-scoped values set by the middleware stack (middleware/index.ts). */
export interface AppVariables extends RequestIdVariables {
  /** fires at the request deadline or when the client disconnects (middleware/deadline) */
  deadline: AbortSignal;
  /** first 8 hex digits of the presented key's SHA-256, once authenticated (never the key) */
  apiKeyId?: string;
  /** the authenticated key's scope */
  apiKeyScope?: KeyScope;
}

/**
 * What the HTTP layer hands each request (`c.env`): Deno.serve's handler info, whose
 * `completed` settles once the response has been sent; nothing in process (`app.request`,
 * a platform's `fetch` without it).
 */
export type AppBindings = Partial<Pick<Deno.ServeHandlerInfo, "completed">> | undefined;

/** The app's Hono environment. */
export type AppEnv = { Variables: AppVariables; Bindings: AppBindings };
