/**
 * The model-repository extension of the Open Inference Protocol (as KServe and Triton
 * define it): list the repository and load or unload models at run time.
 *
 * - `GET|POST /v2/repository/index` (body `{"ready": true}` lists only ready versions):
 *   `[{"name","version","state","reason"}]`, state `READY` | `LOADING` | `UNAVAILABLE`.
 * - `POST /v2/repository/models/{name}/load`: (re)loads the model's versions from the
 *   repository folder; each is warmed before it replaces what serves. 200 with the
 *   versions; 404 `model_not_found` when the folder has none; 422 `model_load_failed`
 *   with the reason (bad card, bad ONNX) while the previous files keep serving.
 * - `POST /v2/repository/models/{name}/unload`: stops serving it after in-flight runs.
 *
 * Load and unload need an `admin` key when keys are configured.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../../errors.ts";
import { ModelLoadError } from "../../models/registry.ts";
import type { AppContext } from "../context.ts";
import type { AppEnv } from "../env.ts";
import { errorBody } from "../errors.ts";
import { log } from "../log.ts";
import { errorResponses, errorSchema, NameParam, openApiApp } from "../openapi_app.ts";

const IndexBody = z.object({ ready: z.boolean().optional() }).passthrough();
const LoadBody = z.object({ parameters: z.record(z.string(), z.unknown()).optional() })
  .passthrough();

/** Parses an optional JSON body against a schema (empty body = `{}`). */
async function optionalJson<T>(c: Context<AppEnv>, schema: z.ZodType<T>): Promise<T> {
  const text = c.req.method === "POST" ? await c.req.text() : "";
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ApiError(
        "bad_json",
        `request body is not JSON: ${(err as Error).message.slice(0, 100)}`,
      );
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError(
      "bad_request",
      `invalid request body: ${
        parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ")
      }`,
    );
  }
  return parsed.data;
}

// Bodies are described, not validated by the route: optionalJson parses them (empty = {}).
const optionalBody = (schema: z.ZodType, description: string) => ({
  required: false,
  description,
  content: {
    "application/json": {
      schema: z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>,
    },
  },
});
const IndexEntrySchema = z.object({
  name: z.string(),
  version: z.string(),
  state: z.enum(["READY", "LOADING", "UNAVAILABLE"]),
  reason: z.string(),
});
const VersionsSchema = z.object({ name: z.string(), versions: z.array(z.unknown()) });
/** A failed load: the error, and each version's result (what still serves). */
const LoadFailedSchema = errorSchema(["model_load_failed"]).extend(VersionsSchema.partial().shape);
const indexRoute = (method: "get" | "post") =>
  createRoute({
    method,
    path: "/v2/repository/index",
    tags: ["v2"],
    summary: "List the model repository: every version with its state",
    request: method === "post"
      ? { body: optionalBody(IndexBody, '`{"ready": true}` lists only ready versions') }
      : {},
    responses: {
      200: {
        description: "the index",
        content: { "application/json": { schema: z.array(IndexEntrySchema) } },
      },
      ...errorResponses(
        method === "post"
          ? ["bad_request", "bad_json", "unauthorized", "forbidden"]
          : ["unauthorized", "forbidden"],
      ),
    },
  });
const changeRoute = <X extends RouteConfig["responses"]>(action: "load" | "unload", more: X) =>
  createRoute({
    method: "post",
    path: `/v2/repository/models/{name}/${action}`,
    tags: ["v2"],
    summary: action === "load"
      ? "(Re)load a model's versions from the repository folder (admin); the old files serve until the new ones are warm"
      : "Stop serving a model after its in-flight runs (admin)",
    request: {
      params: z.object({ name: NameParam }),
      body: optionalBody(LoadBody, "optional `parameters`"),
    },
    responses: {
      200: {
        description: "the model's versions",
        content: { "application/json": { schema: VersionsSchema } },
      },
      ...errorResponses([
        "bad_request",
        "bad_json",
        "unauthorized",
        "forbidden",
        "model_not_found",
      ]),
      ...more,
    },
  });

/** The model-repository routes. */
export function v2RepositoryRoutes({ registry }: AppContext): OpenAPIHono<AppEnv> {
  const app = openApiApp();

  const index = async (c: Context<AppEnv>) => {
    const { ready } = await optionalJson(c, IndexBody);
    return c.json(registry.index().filter((e) => !ready || e.state === "READY"), 200);
  };
  app.openapi(indexRoute("get"), index);
  app.openapi(indexRoute("post"), index);

  app.openapi(
    changeRoute("load", {
      422: {
        description: "error: model_load_failed (the previous files keep serving)",
        content: { "application/json": { schema: LoadFailedSchema } },
      },
    }),
    async (c) => {
      await optionalJson(c, LoadBody);
      const { name } = c.req.valid("param");
      try {
        const results = await registry.loadModel(name);
        log("info", "model repository load", { model: name, results });
        return c.json({ name, versions: results }, 200);
      } catch (err) {
        if (!(err instanceof ModelLoadError)) throw err;
        log("warn", "model repository load failed", { model: name, error: err.message });
        return c.json({ ...errorBody(err), name, versions: err.results }, 422);
      }
    },
  );

  app.openapi(changeRoute("unload", {}), async (c) => {
    await optionalJson(c, LoadBody);
    const { name } = c.req.valid("param");
    const versions = await registry.unloadModel(name);
    log("info", "model repository unload", { model: name });
    return c.json({ name, versions }, 200);
  });
  return app;
}
