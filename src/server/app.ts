/**
 * The HTTP application: every route wired onto one Hono app, with the body limit and the
 * JSON error handling in front. Tests call `app.request()`; `main.ts` serves it.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../errors.ts";
import type { AppContext } from "./context.ts";
import type { AppEnv } from "./env.ts";
import { errorBody, handleError } from "./errors.ts";
import { ServerMetrics } from "./metrics.ts";
import { serverMiddleware } from "./middleware/index.ts";
import { INSTANCE_ID } from "./middleware/instance_id/index.ts";
import { dicomwebRoutes } from "./routes/dicomweb.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { openApiRoutes } from "./routes/openapi_docs.ts";
import { uiRoutes } from "./routes/ui.ts";
import { v1ModelRoutes } from "./routes/v1_models.ts";
import { v1SegmentRoutes } from "./routes/v1_segment.ts";
import { v2Routes } from "./routes/v2_inference.ts";
import { v2RepositoryRoutes } from "./routes/v2_repository.ts";

/** Builds the app around a model registry and settings. */
export function buildApp(ctx: AppContext): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>(); // routes are declared with createRoute: /openapi.json is generated from them
  app.onError(handleError);
  app.notFound((c) =>
    c.json(errorBody(new ApiError("not_found", `no route ${c.req.method} ${c.req.path}`)), 404)
  );
  // request id, access log, metrics, CORS, API keys, deadline: see middleware/index.ts
  const metrics = new ServerMetrics(ctx.registry, INSTANCE_ID);
  ctx.dicomNode?.metrics.attach(metrics.register);
  app.use("*", ...serverMiddleware(ctx, metrics));
  app.use(
    "*",
    bodyLimit({
      maxSize: ctx.config.maxBodyBytes,
      onError: (c) => {
        const err = new ApiError(
          "too_large",
          `request body exceeds ${ctx.config.maxBodyBytes} bytes`,
        );
        return c.json(errorBody(err), 413);
      },
    }),
  );
  app.route("/", v1SegmentRoutes(ctx));
  app.route("/", v1ModelRoutes(ctx));
  app.route("/", v2Routes(ctx));
  app.route("/", uiRoutes());
  app.route("/", openApiRoutes(app));
  app.route("/", v2RepositoryRoutes(ctx));
  app.route("/", dicomwebRoutes(ctx));
  app.route("/", metricsRoutes(metrics));
  return app;
}
