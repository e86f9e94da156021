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
import { ApiError } from "../errors.ts";
import { StageAbortedError } from "./pool.ts";

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

/**
 * Reads a request body for an admitted request. A body that stops arriving is cut off by
 * the deadline (the runtime then drops it: `BadResource`); that, or the client leaving,
 * is reported as the abort it is (504/499), never as a server error.
 * @throws {StageAbortedError} when `signal` aborted while reading
 * @throws {ApiError} `bad_request` when the body could not be read otherwise
 */
export async function readBody<T>(read: () => Promise<T>, signal: AbortSignal): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (signal.aborted) throw new StageAbortedError(signal.reason);
    if (err instanceof ApiError) throw err;
    if (err instanceof Deno.errors.BadResource) {
      throw new ApiError("bad_request", "the request body could not be read to its end");
    }
    throw err;
  }
}
