/**
 * `GET /openapi.json` (the OpenAPI 3.1 document, generated from the route definitions at
 * request time, so it always matches what is mounted) and `GET /docs` (its HTML
 * rendering).
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { openApiDocument } from "../openapi.ts";
import type { AppEnv } from "../env.ts";
import { errorResponses, openApiApp } from "../openapi_app.ts";
import { renderDocsHtml } from "../openapi_html.ts";

const documentRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  tags: ["ui"],
  summary: "This API's OpenAPI 3.1 document",
  responses: {
    200: {
      description: "the document",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
    },
    ...errorResponses([]),
  },
});

const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  tags: ["ui"],
  summary: "The API documentation as an HTML page (offline, no scripts)",
  responses: {
    200: { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } },
    ...errorResponses([]),
  },
});

/**
 * The documentation routes.
 * @param root the app whose routes the document describes (it must mount these too)
 */
export function openApiRoutes(
  root: Pick<OpenAPIHono, "getOpenAPI31Document">,
): OpenAPIHono<AppEnv> {
  const app = openApiApp();
  app.openapi(
    documentRoute,
    (c) => c.json(openApiDocument(root, new URL(c.req.url).origin), 200),
  );
  app.openapi(docsRoute, (c) => c.html(renderDocsHtml(openApiDocument(root))));
  return app;
}
