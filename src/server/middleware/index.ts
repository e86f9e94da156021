/**
 * The server's middleware stack, in order: instance id → request id → access log → HTTP
 * metrics → CORS → API-key auth → deadline. Logging and metrics sit outside auth and the
 * deadline so refused and timed-out requests are logged and counted too; CORS sits
 * before auth so browser preflights (sent without credentials) are answered.
 *
 * Open without a key: `/v2/health/live`, `/v2/health/ready` (probes), `/metrics` unless
 * `TINYUNET_METRICS_PUBLIC=0`, and the static pages `GET /`, `/ui/*`, `/docs`,
 * `/openapi.json` (they hold no data; the API calls they make need a key).
 *
 * @example
 * ```ts
 * const metrics = new ServerMetrics(ctx.registry, INSTANCE_ID);
 * app.use("*", ...serverMiddleware(ctx, metrics));
 * ```
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { ServerMetrics } from "../metrics.ts";
import type { AppContext } from "../context.ts";
import { isRepositoryChange } from "../routes/v2_repository.ts";
import { accessLog } from "./access_log/index.ts";
import { apiKeyAuth } from "./api_key_auth/index.ts";
import { corsPolicy } from "./cors/index.ts";
import { deadline } from "./deadline/index.ts";
import { httpMetrics } from "./http_metrics/index.ts";
import { instanceId } from "./instance_id/index.ts";
import { requestId } from "./request_id/index.ts";
import { routeLabel } from "./route_label.ts";

const PROBES = new Set(["/v2/health/live", "/v2/health/ready"]);
const STATIC_PAGES = new Set(["/", "/docs", "/openapi.json"]);
const ADMIN_ROUTES = new Set([
  "/v2/repository/models/:name/load",
  "/v2/repository/models/:name/unload",
]);

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

/** The middleware to install in front of every route. */
export function serverMiddleware(
  { registry, config }: AppContext,
  metrics: ServerMetrics,
): MiddlewareHandler[] {
  const metricsPublic = config.metricsPublic ?? true;
  const auth = config.auth === "off" ? [] : config.apiKeys ?? [];
  return [
    instanceId(),
    requestId(),
    accessLog({ registry }),
    httpMetrics(metrics),
    corsPolicy(config.corsOrigins ?? []),
    apiKeyAuth({
      keys: auth,
      isPublic: (c) => isPublicRequest(c, metricsPublic),
      needsAdmin: needsAdminScope,
    }) as MiddlewareHandler,
    deadline(config.requestTimeoutMs) as MiddlewareHandler,
  ];
}
