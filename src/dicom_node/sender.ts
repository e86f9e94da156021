/**
 * What a destination sender does: try to deliver a batch of SEGs and say, per SEG,
 * whether it was acknowledged, refused for good, or should be tried again.
 *
 * @module
 */

/** One SEG to deliver. */
export interface OutgoingSeg {
  bytes: Uint8Array;
  sopClassUid: string;
  sopInstanceUid: string;
}

/** The fate of one SEG in an attempt. */
export type SendResult =
  | { status: "ok" }
  | { status: "rejected"; reason: string }
  | { status: "retry"; reason: string };

/** A destination. */
export interface SegSender {
  /** name used in metrics, logs and outbox folders (`dimse`, `dicomweb`) */
  readonly name: string;
  /** where it sends, for logs */
  readonly target: string;
  /**
   * Delivers a batch; one result per SEG, in order.
   * @throws when the destination cannot be reached at all (the whole batch is retried)
   */
  send(segs: OutgoingSeg[]): Promise<SendResult[]>;
}
