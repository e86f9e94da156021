/**
 * Low-cardinality labels for a request, shared by the logging and metrics middleware:
 * the *matched route pattern* (`/v2/models/:name/infer`), never the raw path, and the
 * method from a fixed set. Read after `await next()`.
 *
 * @module
 */
import type { Context } from "hono";
import { matchedRoutes } from "hono/route";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The pattern of the route handler that matched, or `unmatched` (404s, probes of random paths). */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    // handlers take (c); middleware take (c, next)
    if (route.handler.length < 2 && route.path !== "*" && route.path !== "/*") return route.path;
  }
  return "unmatched";
}

/** The method, or `OTHER` for anything outside the usual set. */
export function methodLabel(c: Context): string {
  const m = c.req.method.toUpperCase();
  return METHODS.has(m) ? m : "OTHER";
}
