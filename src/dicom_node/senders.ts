/**
 * The destination senders, each loaded on its first send: `dcmjs-dimse` (with its own
 * dcmjs) stays out of memory and out of the start-up path of a server that never sends a
 * SEG with C-STORE.
 *
 * @module
 */
import type { DimseDestination } from "./config.ts";
import type { OutgoingSeg, SegSender, SendResult } from "./sender.ts";

/** A sender whose implementation module is imported when it first sends. */
class LazySender implements SegSender {
  #impl?: Promise<SegSender>;
  constructor(
    readonly name: string,
    readonly target: string,
    readonly load: () => Promise<SegSender>,
  ) {}
  async send(segs: OutgoingSeg[]): Promise<SendResult[]> {
    this.#impl ??= this.load();
    return await (await this.#impl).send(segs);
  }
}

/** C-STORE to `AET@host:port` (src/dicom_node/dimse_sender.ts). */
export function dimseSender(destination: DimseDestination, callingAet: string): SegSender {
  return new LazySender(
    "dimse",
    `${destination.aet}@${destination.host}:${destination.port}`,
    async () => new (await import("./dimse_sender.ts")).DimseSender(destination, callingAet),
  );
}

/** STOW-RS to a DICOMweb base URL (src/dicom_node/stow_sender.ts). */
export function dicomwebSender(base: URL): SegSender {
  const shown = new URL(base.href);
  shown.username = "";
  shown.password = "";
  return new LazySender(
    "dicomweb",
    `${shown.href.replace(/\/+$/, "")}/studies`,
    async () => new (await import("./stow_sender.ts")).StowSender(base),
  );
}
