/**
 * The server's middleware stack, in order: instance id → request id → access log → HTTP
 * metrics → CORS → API-key auth → deadline. Logging and metrics sit outside auth and the
 * deadline so refused and timed-out requests are logged and counted too; CORS sits
 * before auth so browser preflights (sent without credentials) are answered.
 *
 * Which requests need no key, or an admin key: `api_key_auth/scope.ts`.
 *
 * @example
 * ```ts
 * const metrics = new ServerMetrics(ctx.registry, INSTANCE_ID);
 * app.use("*", ...serverMiddleware(ctx, metrics));
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import type { ServerMetrics } from "../metrics.ts";
import type { AppContext } from "../context.ts";
import { accessLog } from "./access_log/index.ts";
import { apiKeyAuth } from "./api_key_auth/index.ts";
import { isPublicRequest, needsAdminScope } from "./api_key_auth/scope.ts";
import { corsPolicy } from "./cors/index.ts";
import { deadline } from "./deadline/index.ts";
import { httpMetrics } from "./http_metrics/index.ts";
import { instanceId } from "./instance_id/index.ts";
import { requestId } from "./request_id/index.ts";

/** The middleware to install in front of every route. */
export function serverMiddleware(
  { registry, config }: AppContext,
  metrics: ServerMetrics,
): MiddlewareHandler<AppEnv>[] {
  const auth = config.auth === "off" ? [] : config.apiKeys;
  return [
    instanceId(),
    requestId(),
    accessLog({ registry }),
    httpMetrics(metrics),
    corsPolicy(config.corsOrigins),
    apiKeyAuth({
      keys: auth,
      isPublic: (c) => isPublicRequest(c, config.metricsPublic),
      needsAdmin: needsAdminScope,
    }),
    deadline(config.requestTimeoutMs),
  ];
}
