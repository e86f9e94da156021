/**
 * Imported first by `main.ts` and `serve.ts`, so that onnxruntime's one-time set-up
 * (`prewarm.ts`) starts before the rest of the server's modules are evaluated and runs beside
 * them. Logs what it did once done; a start it does not apply to logs nothing.
 *
 * @module
 */
import { prewarmDecision, prewarmNative, type PrewarmResult } from "./prewarm.ts";
import { log } from "../../server/log.ts";

/** Why this start skips the prewarm, or null when it runs. */
export const prewarmSkipped: string | null = prewarmDecision(
  globalThis.Deno?.env.toObject() ?? {},
);

/** The prewarm's outcome (a skipped one says why). */
export const prewarmed: Promise<PrewarmResult> = prewarmSkipped === null
  ? prewarmNative().then((result) => {
    if (result.done) log("info", "native engine prewarmed", { ms: result.ms });
    else log("warn", "native engine prewarm failed", { reason: result.reason });
    return result;
  })
  : Promise.resolve({ done: false, reason: prewarmSkipped });
