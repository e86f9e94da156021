/**
 * `GET /metrics`: Prometheus text exposition of the server's metrics (see
 * src/server/metrics.ts), declared with `createRoute` so the OpenAPI document lists it.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ServerMetrics } from "../metrics.ts";
import type { AppEnv } from "../env.ts";
import { errorResponses, openApiApp } from "../openapi_app.ts";

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["v2"],
  summary: "Prometheus metrics (Triton-style inference counters and durations, HTTP requests)",
  responses: {
    200: {
      description: "Prometheus text format",
      content: { "text/plain": { schema: z.string() } },
    },
    ...errorResponses(["unauthorized", "forbidden"]),
  },
});

/** The metrics route. */
export function metricsRoutes(metrics: ServerMetrics): OpenAPIHono<AppEnv> {
  const app = openApiApp();
  app.openapi(metricsRoute, async (c) => {
    const { text, contentType } = await metrics.exposition();
    return c.text(text, 200, { "Content-Type": contentType });
  });
  return app;
}
