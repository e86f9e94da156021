/**
 * `GET /v1/models`, `GET /v1/models/{name}[/versions/{version}]`: cards plus runtime
 * information (engine, threads, why that engine, queue depth).
 *
 * @module
 */
import { Hono } from "hono";
import type { ModelVersion } from "../../models/model_version.ts";
import type { AppContext } from "../context.ts";

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

/** The v1 model listing routes. */
export function v1ModelRoutes({ registry }: AppContext): Hono {
  const app = new Hono();
  app.get("/v1/models", async (c) => {
    const models = await Promise.all(registry.names().map(async (name) => {
      const latest = registry.get(name);
      return {
        name,
        title: latest.card.title ?? name,
        label: latest.card.label,
        trained: latest.card.trained,
        default: name === registry.defaultModel,
        latest_version: latest.version,
        versions: registry.versions(name).map((v) => v.version),
        runtime: await latest.runtime(),
      };
    }));
    return c.json({ default_model: registry.defaultModel ?? null, models });
  });
  app.get("/v1/models/:name", async (c) => {
    const latest = registry.get(c.req.param("name"));
    return c.json({ ...(await describeVersion(latest)), versions: registry.versions(latest.name).map((v) => v.version) });
  });
  app.get("/v1/models/:name/versions/:version", async (c) => {
    return c.json(await describeVersion(registry.get(c.req.param("name"), c.req.param("version"))));
  });
  return app;
}
