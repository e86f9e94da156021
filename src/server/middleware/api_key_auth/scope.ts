/**
 * Which requests go without a key, and which need an admin key.
 *
 * Open without a key: `/v2/health/live`, `/v2/health/ready` (probes), `/metrics` unless
 * `TINYUNET_METRICS_PUBLIC=0`, and the static pages `GET /`, `/ui/*`, `/docs`,
 * `/openapi.json` (they hold no data; the API calls they make need a key). Admin: the model
 * repository's load and unload, matched by path as well as by route, so that a path no
 * route matches is still refused to a non-admin key.
 *
 * @module
 */
import type { Context } from "hono";
import { routeLabel } from "../route_label.ts";

const PROBES = new Set(["/v2/health/live", "/v2/health/ready"]);
const STATIC_PAGES = new Set(["/", "/docs", "/openapi.json"]);
const ADMIN_ROUTES = new Set([
  "/v2/repository/models/:name/load",
  "/v2/repository/models/:name/unload",
]);

/** Paths of the repository extension that change what is served (admin scope). */
export function isRepositoryChange(path: string): boolean {
  return /^\/v2\/repository\/models\/[^/]+\/(load|unload)\/?$/.test(path);
}

/** Whether a request changes what is served (by its path, or by the route it matched). */
export function needsAdminScope(c: Context): boolean {
  return isRepositoryChange(c.req.path) || ADMIN_ROUTES.has(routeLabel(c));
}

/** Whether a request may go without a key. */
export function isPublicRequest(c: Context, metricsPublic: boolean): boolean {
  const path = c.req.path;
  if (PROBES.has(path)) return true;
  if (path === "/metrics") return metricsPublic;
  return (c.req.method === "GET" || c.req.method === "HEAD") &&
    (STATIC_PAGES.has(path) || /^\/ui\/[\w.-]+$/.test(path));
}
