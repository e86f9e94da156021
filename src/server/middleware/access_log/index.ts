/**
 * One structured JSON log line per request: request id, method, matched route, path,
 * status, duration, and when the request ran a model, its name, version, engine and the
 * queue/compute times, plus the stage timings of the response's `Server-Timing` header.
 * The model facts come from the registry's inference observer through an
 * AsyncLocalStorage scoped to the request, so routes need no logging code.
 *
 * Successful health probes and metric scrapes are not logged (they arrive every few
 * seconds and say nothing). 5xx are logged at `error`, 4xx at `warn`.
 *
 * @example
 * ```ts
 * app.use("*", requestId(), accessLog({ registry }));
 * // {"level":"info","msg":"request","request_id":"…","method":"POST","route":"/v2/models/:name/infer","status":200,…}
 * ```
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../env.ts";
import type { InferenceEvent } from "../../../models/model_version.ts";
import type { ModelRegistry } from "../../../models/registry.ts";
import { log } from "../../log.ts";
import { methodLabel, routeLabel } from "../route_label.ts";

/** Where lines go (the server log by default). */
export type LogWriter = (
  level: "info" | "warn" | "error",
  msg: string,
  fields: Record<string, unknown>,
) => void;

/** Options of {@link accessLog}. */
export interface AccessLogOptions {
  registry: ModelRegistry;
  write?: LogWriter;
}

const QUIET_ROUTES = new Set(["/v2/health/live", "/v2/health/ready", "/metrics"]);

/** Parses `Server-Timing: decode;dur=1.2, queue;dur=0.1` into `{decode_ms: 1.2, …}`. */
export function parseServerTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? "").split(",")) {
    const m = /^\s*([\w-]{1,32})\s*;.*?\bdur=([0-9.]+)/.exec(part);
    if (m) out[`${m[1]}_ms`] = Number(m[2]);
  }
  return out;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The access-log middleware. */
export function accessLog({ registry, write = log }: AccessLogOptions): MiddlewareHandler<AppEnv> {
  const runs = new AsyncLocalStorage<InferenceEvent[]>();
  registry.observe((e) => runs.getStore()?.push(e));

  return async function accessLog(c, next) {
    const t0 = performance.now();
    const events: InferenceEvent[] = [];
    await runs.run(events, next);
    const status = c.res.status;
    const route = routeLabel(c);
    if (status < 400 && QUIET_ROUTES.has(route)) return;
    const run = events.at(-1);
    const fields: Record<string, unknown> = {
      request_id: c.get("requestId"),
      method: methodLabel(c),
      route,
      path: c.req.path.slice(0, 200),
      status,
      duration_ms: round(performance.now() - t0),
    };
    if (run) {
      Object.assign(fields, {
        model: run.model,
        version: run.version,
        engine: run.engine,
        outcome: run.outcome,
        queue_ms: round(run.queueMs),
        compute_ms: round(run.computeMs),
      });
    }
    const timings = parseServerTiming(c.res.headers.get("server-timing"));
    if (Object.keys(timings).length) fields.timings = timings;
    const key = c.get("apiKeyId");
    if (key) fields.key = key;
    write(status >= 500 ? "error" : status >= 400 ? "warn" : "info", "request", fields);
  };
}
