/**
 * Which DIMSE status (PS3.7 C.4.2.1.4 / PS3.4 B.2.3) — and STOW-RS Failure Reason, the
 * same codes (PS3.18 10.5.3) — a failed instance gets: out of resources (0xA700, send
 * again later) for a busy or timed-out model, cannot understand (0xC000) for data the
 * server cannot decode or segment, out of resources too when the outbox's disk is full
 * (ENOSPC, EDQUOT: the sender keeps the instance and tries again later), processing
 * failure (0x0110) for any other fault of this node (e.g. the outbox is not writable).
 *
 * @module
 */
import { ApiError } from "../errors.ts";

/** Status codes used by the node. */
export const STATUS = {
  success: 0x0000,
  processingFailure: 0x0110,
  sopClassNotSupported: 0x0122,
  outOfResources: 0xa700,
  cannotUnderstand: 0xc000,
} as const;

/** The status and an error comment for an instance that failed with `err`. */
export function failureStatus(err: unknown): { code: number; comment: string } {
  if (err instanceof ApiError) {
    if (err.status === 503 || err.status === 504) {
      return { code: STATUS.outOfResources, comment: err.message };
    }
    return { code: STATUS.cannotUnderstand, comment: err.message };
  }
  const errno = (err as { code?: unknown } | null)?.code;
  if (errno === "ENOSPC" || errno === "EDQUOT") {
    return { code: STATUS.outOfResources, comment: "the node's disk is full: send again later" };
  }
  return { code: STATUS.processingFailure, comment: "processing failure on the node (logged)" };
}
