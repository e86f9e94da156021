/**
 * CORS for browser clients on other origins (a viewer, a PACS web app), from
 * `TINYUNET_CORS_ORIGINS`. No origins configured: no CORS headers at all (same-origin
 * only). Preflights are answered before authentication, as browsers send them without
 * credentials. Wraps `hono/cors` with the API's headers.
 *
 * @example
 * ```ts
 * app.use("*", corsPolicy(["https://viewer.clinic.example"]));
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../env.ts";
import { cors } from "hono/cors";

/** Request headers a browser client may send. */
export const ALLOWED_HEADERS = [
  "Authorization",
  "X-API-Key",
  "Content-Type",
  "Accept",
  "X-Request-Id",
  "Inference-Header-Content-Length",
];
/** Response headers a browser client may read. */
export const EXPOSED_HEADERS = [
  "X-Request-Id",
  "X-Instance-Id",
  "X-Model",
  "X-Model-Version",
  "X-Engine",
  "Server-Timing",
  "Retry-After",
  "Inference-Header-Content-Length",
];

/** The CORS middleware for a list of origins (`*` allows any). */
export function corsPolicy(origins: string[]): MiddlewareHandler<AppEnv> {
  if (origins.length === 0) {
    return async function noCors(_c, next) {
      await next();
    };
  }
  return cors({
    origin: origins.includes("*") ? "*" : origins,
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ALLOWED_HEADERS,
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
}
