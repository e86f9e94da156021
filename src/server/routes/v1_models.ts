/**
 * `GET /v1/models`, `GET /v1/models/{name}[/versions/{version}]`: cards plus runtime
 * information (engine, threads, why that engine, queue depth).
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ModelVersion } from "../../models/model_version.ts";
import type { AppContext } from "../context.ts";
import type { AppEnv } from "../env.ts";
import { errorResponses, NameParam, openApiApp, VersionParam } from "../openapi_app.ts";
import { ModelListSchema, ModelVersionSchema } from "../openapi_schemas.ts";

/** A model version as the API shows it. */
export async function describeVersion(mv: ModelVersion) {
  return {
    name: mv.name,
    version: mv.version,
    card: mv.card,
    precisions: mv.precisions,
    runtime: await mv.runtime(),
    queue_depth: await mv.queueDepth(),
    loaded_at: mv.loadedAt.toISOString(),
  };
}

const listRoute = createRoute({
  method: "get",
  path: "/v1/models",
  tags: ["models"],
  summary:
    "List the served models (latest version of each, with its card's label and trained flag)",
  responses: {
    200: {
      description: "the models",
      content: { "application/json": { schema: ModelListSchema } },
    },
    ...errorResponses([]),
  },
});

const modelRoute = createRoute({
  method: "get",
  path: "/v1/models/{name}",
  tags: ["models"],
  summary: "A model's latest version: card, precisions, runtime, queue depth, versions",
  request: { params: z.object({ name: NameParam }) },
  responses: {
    200: {
      description: "the model",
      content: { "application/json": { schema: ModelVersionSchema } },
    },
    ...errorResponses(["model_not_found", "model_not_ready"]),
  },
});

const versionRoute = createRoute({
  method: "get",
  path: "/v1/models/{name}/versions/{version}",
  tags: ["models"],
  summary: "One model version: card, precisions, runtime, queue depth",
  request: { params: z.object({ name: NameParam, version: VersionParam }) },
  responses: {
    200: {
      description: "the model version",
      content: { "application/json": { schema: ModelVersionSchema } },
    },
    ...errorResponses(["model_not_found", "model_not_ready"]),
  },
});

/** The v1 model listing routes. */
export function v1ModelRoutes({ registry }: AppContext): OpenAPIHono<AppEnv> {
  const app = openApiApp();
  app.openapi(listRoute, async (c) => {
    const models = await Promise.all(
      registry.names().map(async (name) => {
        const latest = registry.get(name);
        return {
          name,
          title: latest.card.title ?? name,
          label: latest.card.label,
          trained: latest.card.trained,
          modalities: latest.card.modalities ?? null,
          default: name === registry.defaultModel,
          latest_version: latest.version,
          versions: registry.versions(name).map((v) => v.version),
          runtime: await latest.runtime(),
        };
      }),
    );
    return c.json({ default_model: registry.defaultModel ?? null, models });
  });
  app.openapi(modelRoute, async (c) => {
    const latest = registry.get(c.req.valid("param").name);
    return c.json({
      ...(await describeVersion(latest)),
      versions: registry.versions(latest.name).map((v) => v.version),
    });
  });
  app.openapi(versionRoute, async (c) => {
    const { name, version } = c.req.valid("param");
    return c.json(await describeVersion(registry.get(name, version)));
  });
  return app;
}
