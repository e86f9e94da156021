/**
 * Counts and times every HTTP request into {@link ServerMetrics}, labelled by method,
 * matched route pattern and status.
 *
 * @example
 * ```ts
 * app.use("*", httpMetrics(metrics));
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../env.ts";
import type { ServerMetrics } from "../../metrics.ts";
import { methodLabel, routeLabel } from "../route_label.ts";

/** The HTTP metrics middleware. */
export function httpMetrics(metrics: ServerMetrics): MiddlewareHandler<AppEnv> {
  return async function httpMetrics(c, next) {
    const t0 = performance.now();
    await next();
    metrics.observeHttp(
      methodLabel(c),
      routeLabel(c),
      c.res.status,
      (performance.now() - t0) / 1000,
    );
  };
}
