/**
 * Holds a model's queue busy from a test: a job that runs until released, so requests
 * behind it wait (or are refused) deterministically, whatever the machine's speed.
 *
 * @module
 */
import type { ModelVersion } from "../../src/models/model_version.ts";
import { deferred } from "./wait.ts";

/**
 * Occupies `mv`'s fp32 queue (every engine lane of it); `release()` lets it go and waits for
 * the jobs to end.
 */
export async function occupyQueue(
  mv: ModelVersion,
): Promise<{ release(): Promise<void>; depth(): number }> {
  const slot = await mv.slot(mv.card.precision);
  const gate = deferred();
  const jobs = Array.from({ length: slot.queue.lanes }, () => slot.queue.run(() => gate.promise));
  return {
    async release() {
      gate.resolve();
      await Promise.all(jobs);
    },
    depth: () => slot.queue.depth,
  };
}
