/**
 * Imported first by `main.ts` and `serve.ts`, so that onnxruntime's one-time set-up
 * (`prewarm.ts`) starts before the rest of the server's modules are evaluated and runs beside
 * them. Logs what it did once done (a start it does not apply to logs nothing), and holds the
 * server's early exits until it has ended (`process_exit.ts`). Never throws: a start without
 * the permissions it needs simply skips it. Only the entries import it: a library user of
 * `mod.ts` prewarms nothing.
 *
 * @module
 */
import { prewarmNative, type PrewarmResult, prewarmSkipReason } from "./prewarm.ts";
import { log } from "../../server/log.ts";
import { holdExitUntil } from "../../process_exit.ts";

const skipped = prewarmSkipReason();

/** The prewarm's outcome (a skipped one says why); never rejects. */
export const prewarmed: Promise<PrewarmResult> = skipped === null
  ? prewarmNative().then((result) => {
    if (result.done) log("info", "native engine prewarmed", { ms: result.ms });
    else log("warn", "native engine prewarm failed", { reason: result.reason });
    return result;
  })
  : Promise.resolve({ done: false, reason: skipped });

// an exit must not cut the prewarm off (see process_exit.ts)
holdExitUntil(prewarmed);
