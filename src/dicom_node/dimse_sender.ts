/**
 * C-STORE SCU to `TINYUNET_DIMSE_DESTINATION` (`AET@host:port`) with `dcmjs-dimse`: one
 * association per batch, Segmentation Storage proposed in Explicit VR Little Endian (the
 * SEG's own encoding, sent as written) and Implicit VR Little Endian. Statuses: success
 * and warnings (0000, B000, B006, B007) are delivered; Out of Resources (A7xx) and
 * anything without a response are tried again; other failures are refused for good.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Socket } from "node:net";
import dcmjs from "dcmjs";
import dimse from "dcmjs-dimse";
import type { DimseDestination } from "./config.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from "./part10.ts";
import type { OutgoingSeg, SegSender, SendResult } from "./sender.ts";

const { Client, Dataset, Implementation } = dimse;
const { CStoreRequest } = dimse.requests;
const { PresentationContextResult, TransferSyntax } = dimse.constants;
const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
dimse.log.setLevel("silent");
Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
Implementation.setImplementationVersion(IMPLEMENTATION_VERSION);

/** The end of the File Meta Information of a Part 10 file (where the data set starts). */
function datasetOffset(p10: Uint8Array): number {
  const view = new DataView(p10.buffer, p10.byteOffset, p10.byteLength);
  // preamble (128) + "DICM" + (0002,0000) UL element: tag 4 + VR 2 + length 2 + value 4
  return 132 + 12 + view.getUint32(140, true);
}

/**
 * A data set sent as the bytes the SEG writer wrote (no parse, no re-encode); parsed only
 * when the peer accepted another transfer syntax and dcmjs-dimse must transcode it.
 */
class WrittenDataset extends Dataset {
  #parsed = false;
  constructor(readonly p10: Uint8Array, readonly seg: OutgoingSeg) {
    super({}, TransferSyntax.ExplicitVRLittleEndian);
  }
  override getElement(tag: string): string | undefined {
    if (tag === "SOPClassUID") return this.seg.sopClassUid;
    if (tag === "SOPInstanceUID") return this.seg.sopInstanceUid;
    return this.getElements()[tag] as string | undefined;
  }
  override getElements(): Record<string, unknown> {
    if (!this.#parsed) {
      const file = DicomMessage.readFile(this.p10.slice().buffer as ArrayBuffer);
      const elements = super.getElements();
      Object.assign(elements, DicomMetaDictionary.naturalizeDataset(file.dict));
      this.#parsed = true;
    }
    return super.getElements();
  }
  override getDenaturalizedDataset(): Buffer {
    if (this.getTransferSyntaxUid() !== TransferSyntax.ExplicitVRLittleEndian) {
      return super.getDenaturalizedDataset();
    }
    const start = datasetOffset(this.p10);
    return Buffer.from(this.p10.buffer, this.p10.byteOffset + start, this.p10.byteLength - start);
  }
}

function classify(status: number): SendResult {
  if (status === 0 || status === 0xb000 || status === 0xb006 || status === 0xb007) {
    return { status: "ok" };
  }
  const hex = `0x${status.toString(16).padStart(4, "0")}`;
  if ((status & 0xff00) === 0xa700) return { status: "retry", reason: `out of resources (${hex})` };
  return { status: "rejected", reason: `C-STORE status ${hex}` };
}

/**
 * Turns Nagle's algorithm off on the client's socket. dcmjs-dimse writes a C-STORE as a
 * command PDU and then data PDUs; with Nagle on, the data waits for the peer's delayed
 * ACK of the command (~40 ms per SEG on Linux). The library does not expose its socket,
 * so this reaches for its `network.socket` field and does nothing when it is not there.
 */
function noDelay(client: object): void {
  const network: unknown = Reflect.get(client, "network");
  const socket: unknown = network && typeof network === "object"
    ? Reflect.get(network, "socket")
    : undefined;
  if (socket instanceof Socket) socket.setNoDelay(true);
}

/** Sends SEGs with C-STORE. */
export class DimseSender implements SegSender {
  readonly name = "dimse";
  readonly target: string;

  /**
   * @param callingAet this node's AE title
   * @param timeoutMs longest connect/association/PDU wait
   */
  constructor(
    readonly destination: DimseDestination,
    readonly callingAet: string,
    readonly timeoutMs = 15_000,
  ) {
    this.target = `${destination.aet}@${destination.host}:${destination.port}`;
  }

  send(segs: OutgoingSeg[]): Promise<SendResult[]> {
    return new Promise((resolve, reject) => {
      const results: (SendResult | undefined)[] = segs.map(() => undefined);
      const client = new Client();
      let refused: string | undefined;
      let failure: Error | undefined;
      segs.forEach((seg, i) => {
        const request = new CStoreRequest(new WrittenDataset(seg.bytes, seg));
        request.on("response", (response: { getStatus(): number }) => {
          results[i] = classify(response.getStatus());
          // every SEG answered: done (the release goes on without holding the outbox)
          if (results.every((r) => r !== undefined)) finish();
        });
        client.addRequest(request);
      });
      const limitMs = this.timeoutMs * 2 + 100 * segs.length;
      const guard = setTimeout(() => {
        failure = new Error(`no answer from ${this.target} within ${limitMs} ms`);
        try {
          client.abort();
        } catch { /* not connected */ }
        finish();
      }, limitMs);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        if (failure && results.every((r) => r === undefined)) return reject(failure);
        resolve(
          results.map((r) =>
            r ??
              (refused
                ? { status: "rejected", reason: refused }
                : { status: "retry", reason: failure?.message ?? "no C-STORE response" })
          ),
        );
      };
      client.on("associationAccepted", (association: dimse.association.Association) => {
        const accepted = association.getPresentationContexts().some((c) => {
          const pc = association.getPresentationContext(c.id);
          return pc.getResult() === PresentationContextResult.Accept &&
            segs.some((s) => s.sopClassUid === pc.getAbstractSyntaxUid());
        });
        if (!accepted) refused = `${this.target} does not accept Segmentation Storage`;
      });
      client.on("associationRejected", (r: { result: number; source: number; reason: number }) => {
        failure = new Error(
          `${this.target} rejected the association (result ${r.result}, source ${r.source}, reason ${r.reason})`,
        );
      });
      client.on("networkError", (e: Error) => {
        failure ??= e;
        finish();
      });
      client.on("closed", finish);
      try {
        client.send(
          this.destination.host,
          this.destination.port,
          this.callingAet,
          this.destination.aet,
          {
            connectTimeout: this.timeoutMs,
            associationTimeout: this.timeoutMs,
            pduTimeout: this.timeoutMs,
          },
        );
        noDelay(client);
      } catch (err) {
        failure = err as Error;
        finish();
      }
    });
  }
}
