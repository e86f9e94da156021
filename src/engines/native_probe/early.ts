/**
 * Imported first by `main.ts` and `serve.ts`, so that onnxruntime's one-time set-up
 * (`prewarm.ts`) starts before the rest of the server's modules are evaluated and runs beside
 * them. Logs what it did once done (a start it does not apply to logs nothing). Never throws:
 * a start without the permissions it needs simply skips it.
 *
 * @module
 */
import { prewarmNative, type PrewarmResult, prewarmSkipReason } from "./prewarm.ts";
import { log } from "../../server/log.ts";

const skipped = prewarmSkipReason();

/** The prewarm's outcome (a skipped one says why); never rejects. */
export const prewarmed: Promise<PrewarmResult> = skipped === null
  ? prewarmNative().then((result) => {
    if (result.done) log("info", "native engine prewarmed", { ms: result.ms });
    else log("warn", "native engine prewarm failed", { reason: result.reason });
    return result;
  })
  : Promise.resolve({ done: false, reason: skipped });

/**
 * Resolves once the prewarm has ended, or after `maxMs`: the process must not exit while
 * onnxruntime's environment is being made on another thread (exit runs the library's static
 * destructors under it).
 */
export function prewarmSettled(maxMs = 1000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    prewarmed.then(() => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, maxMs)),
  ]).finally(() => clearTimeout(timer));
}
