/**
 * Holds a model's queue busy from a test: a job that runs until released, so requests
 * behind it wait (or are refused) deterministically, whatever the machine's speed.
 *
 * @module
 */
import type { ModelVersion } from "../../src/models/model_version.ts";
import { deferred } from "./wait.ts";

/** Occupies `mv`'s fp32 queue; `release()` lets it go and waits for the job to end. */
export async function occupyQueue(
  mv: ModelVersion,
): Promise<{ release(): Promise<void>; depth(): number }> {
  const slot = await mv.slot(mv.card.precision);
  const gate = deferred();
  const job = slot.queue.run(() => gate.promise);
  return {
    async release() {
      gate.resolve();
      await job;
    },
    depth: () => slot.queue.depth,
  };
}
