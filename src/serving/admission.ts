/**
 * Admission control shared by the inference routes: a request takes a place in its
 * model's queue before its body is read; when none is left it is refused with 503
 * `queue_full` after a short hold (`TINYUNET_BUSY_DELAY_MS`).
 *
 * Why hold a refusal: a refusal costs well under a millisecond of CPU, but a client that
 * retries at once (a load generator, a naive retry loop) turns 200 connections into
 * thousands of refusals a second, and on a small box their CPU starves the admitted
 * requests (measured: 2xx goodput fell to ~10 % of the 8-connection figure). Holding each
 * refusal for the delay (a timer, no CPU) caps the refusal rate at connections ÷ delay.
 *
 * @module
 */
import type { ModelVersion, Precision } from "../models/model_version.ts";
import { QueueFullError, type QueueTicket } from "../models/queue.ts";

/** Reserves a queue place, or refuses after `busyDelayMs` (cut short by `signal`). */
export async function admit(
  model: ModelVersion,
  precision: Precision | undefined,
  busyDelayMs: number,
  signal?: AbortSignal,
): Promise<QueueTicket> {
  try {
    return await model.admit(precision);
  } catch (err) {
    if (err instanceof QueueFullError && busyDelayMs > 0 && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, busyDelayMs);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
    throw err;
  }
}
