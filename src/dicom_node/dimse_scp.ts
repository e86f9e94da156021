/**
 * The DIMSE listener (`TINYUNET_DIMSE_PORT`), built on `dcmjs-dimse` (it owns the PDU
 * layer): C-ECHO, and C-STORE of image storage SOP classes.
 *
 * - Association: the called AE title must be `TINYUNET_DIMSE_AET`, the calling one in
 *   `TINYUNET_DIMSE_CALLING_AETS` when set, and at most {@link MAX_ASSOCIATIONS} are open
 *   at once (else rejected, transient). Each presentation context is accepted with the
 *   first transfer syntax the server decodes in this node's order of preference, or
 *   rejected there (abstract syntax or transfer syntax not supported) — never after.
 * - C-STORE: the data set is collected as the bytes that arrived (bounded by
 *   `TINYUNET_MAX_BODY_MB`; past it the association is aborted; and all associations
 *   together hold at most {@link DimseListenerOptions.maxHeldBytes}: past that a data set
 *   is read and dropped and answered 0xA700, out of resources), framed as Part 10,
 *   segmented, and the SEG stored in the outbox **before** the response: Success then
 *   means the SEG is safe on disk (or the instance had no model: logged, Success too).
 *   Failures get the status of statuses.ts with an Error Comment: 0xC000 undecodable,
 *   0xA700 busy or timed out (the sender may retry), 0x0110 a fault of this node.
 * - Garbage, unknown PDU types and oversized PDUs close the connection; timeouts
 *   (association 30 s, idle PDU 60 s) drop stalled peers. One log line per association
 *   (accepted/rejected, then closed with counts).
 * - Shutdown ({@link DimseListener.close}): no new associations, C-STOREs in progress
 *   finish and are answered, later ones get 0xA700 (the sender tries again later).
 *
 * @module
 */
import { createServer, type Socket } from "node:net";
import { Buffer } from "node:buffer";
import { Writable } from "node:stream";
import dimse from "dcmjs-dimse";
import { ENCAPSULATED_CODECS, NATIVE_TRANSFER_SYNTAXES } from "../imaging/dicom_transfer_syntax.ts";
import { log } from "../server/log.ts";
import type { DicomNode } from "./node.ts";
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION, part10 } from "./part10.ts";
import { IMAGE_STORAGE, VERIFICATION } from "./sop_classes.ts";
import { failureStatus, STATUS } from "./statuses.ts";

const { Dataset, Implementation, Scp } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const {
  PresentationContextResult,
  RejectReason,
  RejectResult,
  RejectSource,
  Status,
} = dimse.constants;

type Association = dimse.association.Association;
type CStoreRequest = dimse.requests.CStoreRequest;

/** Associations open at once before new ones are rejected (transient, local limit). */
export const MAX_ASSOCIATIONS = 64;
/** The largest PDU this node receives (advertised in negotiation; larger PDUs close the connection). */
export const MAX_PDU = 65536;

/**
 * Transfer syntaxes in this node's order of preference, among those the server decodes
 * (src/imaging/dicom_transfer_syntax.ts): uncompressed first (no codec work), then the
 * compressed ones, so an instance that only exists compressed is still taken as it is.
 */
export function acceptedTransferSyntaxes(): string[] {
  const preferred = [
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.2",
  ];
  const decodable = [...Object.keys(NATIVE_TRANSFER_SYNTAXES), ...Object.keys(ENCAPSULATED_CODECS)];
  return [
    ...preferred.filter((t) => decodable.includes(t)),
    ...decodable.filter((t) => !preferred.includes(t)),
  ];
}

/** Settings of the listener beyond the node's. */
export interface DimseListenerOptions {
  port: number;
  hostname?: string;
  /** largest data set accepted (bytes) */
  maxDatasetBytes: number;
  /** deadline for segmenting one instance */
  instanceTimeoutMs: number;
  /** associations open at once (default {@link MAX_ASSOCIATIONS}) */
  maxAssociations?: number;
  /**
   * data set bytes all associations hold at once, from arrival until the instance is
   * answered (default 4 × `maxDatasetBytes`)
   */
  maxHeldBytes?: number;
}

/** The bytes of data sets held across associations, against a budget. */
class HeldBytes {
  held = 0;
  constructor(readonly max: number) {}
  /** Counts `n` more bytes held; false (nothing counted) past the budget. */
  take(n: number): boolean {
    if (this.held + n > this.max) return false;
    this.held += n;
    return true;
  }
  give(n: number): void {
    this.held -= n;
  }
}

/**
 * Collects a C-STORE data set; past `max` bytes it calls `onOverflow` and keeps nothing;
 * when the node-wide budget is spent it keeps nothing more and marks itself `busy`.
 */
class DatasetSink extends Writable {
  readonly chunks: Uint8Array[] = [];
  size = 0;
  overflow = false;
  busy = false;
  #counted = 0;
  constructor(
    readonly max: number,
    readonly budget: HeldBytes,
    readonly onOverflow: () => void,
  ) {
    // one write never waits for 'drain': dcmjs-dimse then handles each PDU synchronously
    super({ highWaterMark: Number.MAX_SAFE_INTEGER });
  }
  override _write(chunk: Buffer, _enc: string, done: (error?: Error | null) => void): void {
    this.size += chunk.length;
    if (this.size > this.max) {
      if (!this.overflow) {
        this.overflow = true;
        this.release();
        this.onOverflow();
      }
    } else if (!this.busy && this.budget.take(chunk.length)) {
      this.#counted += chunk.length;
      this.chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).slice());
    } else if (!this.busy) {
      this.busy = true;
      this.release();
    }
    done();
  }
  /** Drops what it holds from the budget (once the instance is answered, or never will be). */
  release(): void {
    this.chunks.length = 0;
    this.budget.give(this.#counted);
    this.#counted = 0;
  }
  /** The chunks, handed over: the sink lets go of them (one copy of a data set is held, not two). */
  take(): Uint8Array[] {
    return this.chunks.splice(0);
  }
}

/** A running DIMSE listener. */
export interface DimseListener {
  readonly port: number;
  /**
   * Stops taking associations, answers C-STOREs that arrive from now on with 0xA700 (send
   * again later), lets those in progress finish and answer (up to `graceMs`), then closes
   * every connection.
   */
  close(graceMs?: number): Promise<void>;
}

let associationCounter = 0;

/**
 * Starts the listener.
 * @returns once it listens
 */
export function startDimseListener(
  node: DicomNode,
  options: DimseListenerOptions,
): Promise<DimseListener> {
  const config = node.config;
  const metrics = node.metrics;
  const preferred = acceptedTransferSyntaxes();
  const maxAssociations = options.maxAssociations ?? MAX_ASSOCIATIONS;
  const held = new HeldBytes(options.maxHeldBytes ?? 4 * options.maxDatasetBytes);
  let open = 0;
  /** C-STOREs between arrival and their answer being written */
  let storing = 0;
  let closing = false;
  Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
  Implementation.setImplementationVersion(IMPLEMENTATION_VERSION);
  Implementation.setMaxPduLength(MAX_PDU);
  dimse.log.setLevel("silent");

  class NodeScp extends Scp {
    readonly id = `a${(++associationCounter).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    readonly opened = performance.now();
    readonly datasets = new WeakMap<object, DatasetSink>();
    /** sinks whose bytes still count against the budget */
    readonly sinks = new Set<DatasetSink>();
    association?: Association;
    stored = 0;
    failed = 0;
    aborted = false;
    counted = false;
    remote: string;
    readonly tcp: Socket;

    constructor(socket: Socket, opts: ConstructorParameters<typeof Scp>[1]) {
      super(socket, opts);
      this.tcp = socket;
      this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
      guardPdus(socket, () => {
        log("warn", "dimse connection closed: PDU over the size limit", {
          association: this.id,
          remote: this.remote,
        });
      });
      socket.on("close", () => {
        for (const sink of this.sinks) sink.release();
        this.sinks.clear();
        if (this.counted) {
          open--;
          metrics.activeAssociations.dec();
          log("info", "dimse association closed", {
            association: this.id,
            calling_aet: this.association?.getCallingAeTitle(),
            stored: this.stored,
            failed: this.failed,
            aborted: this.aborted,
            ms: Math.round(performance.now() - this.opened),
          });
        }
      });
    }

    override associationRequested(association: Association): void {
      if (this.counted) {
        // a second A-ASSOCIATE-RQ on an open association is a protocol violation
        this.tcp.destroy();
        return;
      }
      this.association = association;
      const calling = association.getCallingAeTitle().trim();
      const called = association.getCalledAeTitle().trim();
      const reject = (
        result: number,
        reason: number,
        why: string,
        source = RejectSource.ServiceUser,
      ) => {
        metrics.associations.inc({ result: "rejected" });
        log("warn", "dimse association rejected", {
          association: this.id,
          remote: this.remote,
          calling_aet: calling,
          called_aet: called,
          reason: why,
        });
        this.sendAssociationReject(result, source, reason);
      };
      if (called !== config.aet) {
        return reject(
          RejectResult.Permanent,
          RejectReason.CalledAeNotRecognized,
          `called AE title ${called} is not ${config.aet}`,
        );
      }
      if (config.callingAets.length > 0 && !config.callingAets.includes(calling)) {
        return reject(
          RejectResult.Permanent,
          RejectReason.CallingAeNotRecognized,
          `calling AE title ${calling} is not in TINYUNET_DIMSE_CALLING_AETS`,
        );
      }
      if (open >= maxAssociations) {
        return reject(
          RejectResult.Transient,
          RejectReason.LocalLimitExceeded,
          `${maxAssociations} associations already open`,
          // PS3.8 9.3.4: local-limit-exceeded is a reason of the presentation service provider
          RejectSource.ServiceProviderPresentation,
        );
      }
      let accepted = 0;
      for (const c of association.getPresentationContexts()) {
        const pc = association.getPresentationContext(c.id);
        const abstract = pc.getAbstractSyntaxUid();
        if (abstract !== VERIFICATION && !(abstract in IMAGE_STORAGE)) {
          pc.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
          continue;
        }
        const offered = pc.getTransferSyntaxUids();
        const ts = preferred.find((t) => offered.includes(t));
        if (ts) {
          pc.setResult(PresentationContextResult.Accept, ts);
          accepted++;
        } else {
          pc.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
      }
      open++;
      this.counted = true;
      metrics.activeAssociations.inc();
      metrics.associations.inc({ result: "accepted" });
      log("info", "dimse association accepted", {
        association: this.id,
        remote: this.remote,
        calling_aet: calling,
        called_aet: called,
        contexts: association.getPresentationContexts().length,
        contexts_accepted: accepted,
      });
      this.sendAssociationAccept();
    }

    override associationReleaseRequested(): void {
      this.sendAssociationReleaseResponse();
    }

    override abort(): void {
      // the peer aborted: nothing more comes on this connection
      this.aborted = true;
      this.tcp.destroy();
    }

    override cEchoRequest(
      request: dimse.requests.CEchoRequest,
      callback: (response: dimse.responses.CEchoResponse) => void,
    ): void {
      const response = CEchoResponse.fromRequest(request);
      response.setStatus(Status.Success);
      callback(response);
    }

    override createStoreWritableStream(): Writable {
      const sink = new DatasetSink(options.maxDatasetBytes, held, () => {
        log("warn", "dimse data set over the size limit: association aborted", {
          association: this.id,
          max_bytes: options.maxDatasetBytes,
        });
        this.aborted = true;
        try {
          this.sendAbort();
        } catch { /* already gone */ }
        this.tcp.destroy();
      });
      this.sinks.add(sink);
      return sink;
    }

    override createDatasetFromStoreWritableStream(
      writable: Writable,
      context: dimse.association.PresentationContext,
      callback: (dataset: dimse.Dataset) => void,
    ): void {
      const dataset = new Dataset({}, context.getAcceptedTransferSyntaxUid());
      if (writable instanceof DatasetSink) this.datasets.set(dataset, writable);
      callback(dataset);
    }

    override cStoreRequest(
      request: CStoreRequest,
      callback: (response: dimse.responses.CStoreResponse) => void,
    ): void {
      storing++;
      void this.#store(request).then((status) => {
        if (this.aborted) return;
        const response = CStoreResponse.fromRequest(request);
        response.setStatus(status.code);
        if (status.comment) response.setErrorComment?.(status.comment.slice(0, 64));
        callback(response);
      }).finally(() => storing--).catch((err) => {
        // the answer could not be sent (connection gone): never an unhandled rejection
        log("warn", "dimse response not sent", {
          association: this.id,
          error: (err as Error).message,
        });
        this.tcp.destroy();
      });
    }

    async #store(request: CStoreRequest): Promise<{ code: number; comment?: string }> {
      const receivedMs = Date.now();
      const dataset = request.getDataset();
      const sink = dataset ? this.datasets.get(dataset) : undefined;
      if (!dataset || !sink || sink.overflow) {
        this.failed++;
        return { code: STATUS.outOfResources, comment: "data set missing or over the size limit" };
      }
      try {
        if (closing) {
          this.failed++;
          return { code: STATUS.outOfResources, comment: "node shutting down: send again later" };
        }
        if (sink.busy) {
          this.failed++;
          log("warn", "dimse data set dropped: data sets held at the node's limit", {
            association: this.id,
            request_id: request.getAffectedSopInstanceUid(),
            max_held_bytes: held.max,
          });
          return { code: STATUS.outOfResources, comment: "node busy: send again later" };
        }
        const bytes = part10(
          sink.take(),
          request.getAffectedSopClassUid(),
          request.getAffectedSopInstanceUid(),
          dataset.getTransferSyntaxUid(),
        );
        await node.receive(bytes, {
          via: "dimse",
          session: this.id,
          callingAet: this.association?.getCallingAeTitle(),
          receivedMs,
        }, AbortSignal.timeout(options.instanceTimeoutMs));
        this.stored++;
        return { code: Status.Success };
      } catch (err) {
        this.failed++;
        return failureStatus(err);
      } finally {
        sink.release();
        this.sinks.delete(sink);
      }
    }
  }

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {/* reported through the Scp's networkError */});
    const scp = new NodeScp(socket, {
      associationTimeout: 30_000,
      pduTimeout: 60_000,
      connectTimeout: 120_000,
    });
    scp.on("networkError", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port, host: options.hostname }, () => {
      server.off("error", reject);
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : options.port;
      log("info", "dimse listening", { port, aet: config.aet, transfer_syntaxes: preferred });
      resolve({
        port,
        async close(graceMs = 10_000) {
          closing = true;
          const closed = new Promise<void>((done) => server.close(() => done()));
          const end = performance.now() + graceMs;
          while (storing > 0 && performance.now() < end) {
            await new Promise((r) => setTimeout(r, 20));
          }
          // end() sends what is written (the last answers) before the FIN; destroy() would drop it
          for (const s of sockets) s.end();
          const timer = setTimeout(() => {
            for (const s of sockets) s.destroy();
          }, 500);
          await closed;
          clearTimeout(timer);
        },
      });
    });
  });
}

/**
 * Closes a connection whose PDU header announces more than the PDU limit (a P-DATA PDU
 * may carry at most the length this node advertised; an association request is small).
 * dcmjs-dimse would otherwise buffer whatever length a peer announces.
 */
function guardPdus(socket: Socket, onClose: () => void): void {
  let header: number[] = [];
  let remaining = 0;
  socket.on("data", (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - i);
        remaining -= take;
        i += take;
        continue;
      }
      header.push(chunk[i++]);
      if (header.length === 6) {
        const length = ((header[2] << 24) >>> 0) + (header[3] << 16) + (header[4] << 8) + header[5];
        header = [];
        if (length > MAX_PDU + 16) {
          onClose();
          socket.destroy();
          return;
        }
        remaining = length;
      }
    }
  });
}
