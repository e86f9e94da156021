/**
 * The browser page: `GET /` and its assets under `/ui/{file}`, read from src/ui/ once and
 * served from memory with their content types. Nothing is fetched from elsewhere.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../../errors.ts";
import type { AppEnv } from "../env.ts";
import { errorResponses, openApiApp } from "../openapi_app.ts";

/** The page's files and their content types. */
export const UI_FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "mask.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

const UI_DIR = new URL("../../ui/", import.meta.url);
const cache = new Map<string, Promise<Uint8Array>>();

function read(file: string): Promise<Uint8Array> {
  let bytes = cache.get(file);
  if (!bytes) {
    bytes = Deno.readFile(new URL(file, UI_DIR));
    cache.set(file, bytes);
    bytes.catch(() => cache.delete(file));
  }
  return bytes;
}

const pageRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["ui"],
  summary:
    "The segmentation page: drop an image, pick a model, see the overlay and the measurements",
  responses: {
    200: { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } },
    ...errorResponses([]),
  },
});

const assetRoute = createRoute({
  method: "get",
  path: "/ui/{file}",
  tags: ["ui"],
  summary: "The page's scripts, style sheet and icon",
  request: {
    params: z.object({
      file: z.string().openapi({
        param: { name: "file", in: "path" },
        description: Object.keys(UI_FILES).join(", "),
        example: "app.js",
      }),
    }),
  },
  responses: {
    200: {
      description: "the file",
      content: {
        "text/javascript": { schema: { type: "string" } },
        "text/css": { schema: { type: "string" } },
        "image/svg+xml": { schema: { type: "string" } },
      },
    },
    ...errorResponses(["not_found"]),
  },
});

async function serve(file: string): Promise<Response> {
  const type = UI_FILES[file];
  if (!type) throw new ApiError("not_found", `no UI file ${file.slice(0, 40)}`);
  const body = await read(file);
  return new Response(body as Uint8Array<ArrayBuffer>, {
    headers: {
      "Content-Type": type,
      "Cache-Control": "no-cache",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

/** The UI routes. */
export function uiRoutes(): OpenAPIHono<AppEnv> {
  const app = openApiApp();
  app.openapi(pageRoute, () => serve("index.html"));
  app.openapi(assetRoute, (c) => serve(c.req.valid("param").file));
  return app;
}
