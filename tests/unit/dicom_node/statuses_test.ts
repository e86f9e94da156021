import assert from "node:assert/strict";
import { failureStatus, STATUS } from "../../../src/dicom_node/statuses.ts";
import { ApiError } from "../../../src/errors.ts";

/** The error Deno raises when a write meets a full disk (as writing /dev/full shows). */
async function diskFullError(): Promise<unknown> {
  try {
    using f = await Deno.open("/dev/full", { write: true });
    await f.write(new Uint8Array(8));
  } catch (err) {
    return err;
  }
  throw new Error("/dev/full took the write");
}

Deno.test("statuses: busy/timeout and a full disk are 0xA700 (send again), bad data 0xC000, other faults 0x0110", async () => {
  assert.equal(failureStatus(new ApiError("queue_full", "busy")).code, STATUS.outOfResources);
  assert.equal(failureStatus(new ApiError("timeout", "slow")).code, STATUS.outOfResources);
  assert.equal(failureStatus(new ApiError("bad_dicom", "no")).code, STATUS.cannotUnderstand);
  assert.equal(failureStatus(await diskFullError()).code, STATUS.outOfResources);
  assert.equal(
    failureStatus(new Deno.errors.PermissionDenied("outbox")).code,
    STATUS.processingFailure,
  );
  assert.equal(failureStatus(new Error("bug")).code, STATUS.processingFailure);
});
