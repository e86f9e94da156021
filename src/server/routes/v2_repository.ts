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
import { type Context, Hono } from "hono";
import { z } from "zod";
import { ApiError } from "../../errors.ts";
import { ModelLoadError } from "../../models/registry.ts";
import type { AppContext } from "../context.ts";
import { errorBody } from "../errors.ts";
import { log } from "../log.ts";

const IndexBody = z.object({ ready: z.boolean().optional() }).passthrough();
const LoadBody = z.object({ parameters: z.record(z.string(), z.unknown()).optional() }).passthrough();

/** Parses an optional JSON body against a schema (empty body = `{}`). */
async function optionalJson<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  const text = c.req.method === "POST" ? await c.req.text() : "";
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ApiError("bad_json", `request body is not JSON: ${(err as Error).message.slice(0, 100)}`);
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError("bad_request", `invalid request body: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}

/** Paths of this extension that change what is served (admin scope). */
export function isRepositoryChange(path: string): boolean {
  return /^\/v2\/repository\/models\/[^/]+\/(load|unload)\/?$/.test(path);
}

/** The model-repository routes. */
export function v2RepositoryRoutes({ registry }: AppContext): Hono {
  const app = new Hono();

  const index = async (c: Context) => {
    const { ready } = await optionalJson(c, IndexBody);
    return c.json(registry.index().filter((e) => !ready || e.state === "READY"));
  };
  app.get("/v2/repository/index", index);
  app.post("/v2/repository/index", index);

  app.post("/v2/repository/models/:name/load", async (c) => {
    await optionalJson(c, LoadBody);
    const name = c.req.param("name");
    try {
      const results = await registry.loadModel(name);
      log("info", "model repository load", { model: name, results });
      return c.json({ name, versions: results });
    } catch (err) {
      if (!(err instanceof ModelLoadError)) throw err;
      log("warn", "model repository load failed", { model: name, error: err.message });
      return c.json({ ...errorBody(err), name, versions: err.results }, 422);
    }
  });

  app.post("/v2/repository/models/:name/unload", async (c) => {
    await optionalJson(c, LoadBody);
    const name = c.req.param("name");
    const versions = await registry.unloadModel(name);
    log("info", "model repository unload", { model: name });
    return c.json({ name, versions });
  });
  return app;
}
