/**
 * `TINYUNET_IDLE_GC_MS`, the delay before an isolate collects its garbage once idle
 * (`collect.ts`), read from the environment by the isolates that validate settings (the HTTP
 * isolate, the codec pool Workers); an engine host Worker is given the value in its load
 * message instead, so that it loads neither zod nor the schemas (~5 MiB and 20-45 ms a Worker).
 *
 * @module
 */
import { z } from "zod";
import { int, parseVariables } from "../env_vars.ts";

/** The environment variable, for `src/config.ts` to validate with the others. */
export const IDLE_GC_ENV = { TINYUNET_IDLE_GC_MS: int(1000, 0) };

/** Validated idle-GC delay (ms; 0: off) of this environment. */
export function parseIdleGcMs(env: Record<string, string | undefined>): number {
  return parseVariables(z.object(IDLE_GC_ENV), env).TINYUNET_IDLE_GC_MS;
}

let cachedMs: number | undefined;

/** This isolate's idle-GC delay (read once; an unreadable setting turns it off). */
export function idleGcMs(): number {
  if (cachedMs === undefined) {
    try {
      cachedMs = parseIdleGcMs({ TINYUNET_IDLE_GC_MS: Deno.env.get("TINYUNET_IDLE_GC_MS") });
    } catch {
      cachedMs = 0; // the server's config check reports a bad value at start-up
    }
  }
  return cachedMs;
}
