/**
 * Request ids: an incoming `X-Request-Id` is kept when it is sane (≤ 128 characters of
 * letters, digits, `_`, `-`, `=`), else a UUID is made; either way it is echoed in the
 * response and available as `c.get("requestId")` for logs. A thin policy wrapper around
 * `hono/request-id`.
 *
 * @example
 * ```ts
 * app.use("*", requestId());
 * app.get("/", (c) => c.text(c.get("requestId")));
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../env.ts";
import { requestId as honoRequestId } from "hono/request-id";

/** Header carrying the id both ways. */
export const REQUEST_ID_HEADER = "X-Request-Id";

/** The request-id middleware. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return honoRequestId({ headerName: REQUEST_ID_HEADER, limitLength: 128 });
}
