/**
 * Tags every response with the id of the isolate that answered (`X-Instance-Id`), so
 * load spread over `deno serve --parallel` workers or replicas can be seen from outside.
 * The id is made once per isolate (module evaluation); it names no host or user.
 *
 * @example
 * ```ts
 * app.use("*", instanceId());
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../env.ts";

/** This isolate's id: process id and a random part (workers of one process differ). */
export const INSTANCE_ID = `${globalThis.Deno?.pid ?? 0}-${crypto.randomUUID().slice(0, 8)}`;

/** Response header carrying {@link INSTANCE_ID}. */
export const INSTANCE_HEADER = "X-Instance-Id";

/** The instance-id middleware. */
export function instanceId(id: string = INSTANCE_ID): MiddlewareHandler<AppEnv> {
  return async function instanceId(c, next) {
    await next();
    c.header(INSTANCE_HEADER, id);
  };
}
