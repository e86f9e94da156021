/**
 * `GET /metrics`: Prometheus text exposition of the server's metrics (see
 * src/server/metrics.ts), declared with `createRoute` so the OpenAPI document lists it.
 *
 * @module
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ServerMetrics } from "../metrics.ts";
import { addRoute, errorResponses, openApiApp } from "../openapi_app.ts";

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["v2"],
  summary: "Prometheus metrics (Triton-style inference counters and durations, HTTP requests)",
  responses: {
    200: {
      description: "Prometheus text format",
      content: { "text/plain": { schema: { type: "string" } } },
    },
    ...errorResponses(["unauthorized", "forbidden"]),
  },
});

/** The metrics route. */
export function metricsRoutes(metrics: ServerMetrics): OpenAPIHono {
  const app = openApiApp();
  const handler = metrics.handler();
  addRoute(
    app,
    metricsRoute,
    (c: Context) => handler(c, () => Promise.resolve()) as Promise<Response>,
  );
  return app;
}
