/**
 * The DICOM node: what C-STORE (src/dicom_node/dimse_scp.ts) and STOW-RS
 * (src/server/routes/dicomweb.ts) hand their instances to. For each instance it segments
 * (see segment_instance.ts), stores the SEG durably in the outbox before answering, and
 * wakes the delivery loop of every configured destination. One log line per instance
 * with `request_id` = the source SOP Instance UID.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import type { SegmentPipeline } from "../serving/pipeline.ts";
import { log } from "../server/log.ts";
import type { DicomNodeConfig } from "./config.ts";
import { Delivery } from "./delivery.ts";
import { DicomNodeMetrics } from "./metrics.ts";
import { SegStore } from "./seg_store.ts";
import type { SegSender } from "./sender.ts";
import type { InstanceOutcome, MadeSeg } from "./segment_instance.ts";
import { dicomwebSender, dimseSender } from "./senders.ts";

/** How an instance arrived. */
export type Via = "dimse" | "stow";

/** Context of one received instance, for logs. */
export interface ReceiveContext {
  via: Via;
  /** the association's id (DIMSE) or the HTTP request id (STOW-RS) */
  session?: string;
  callingAet?: string;
  /** when the instance had fully arrived (ms since the epoch) */
  receivedMs?: number;
}

/** What became of one instance. */
export type Received =
  | { kind: "segmented"; outcome: Extract<InstanceOutcome, { kind: "segmented" }>; seg: MadeSeg }
  | { kind: "not_routed"; outcome: Extract<InstanceOutcome, { kind: "not_routed" }> };

/** A counting semaphore: at most `limit` segmentations at once, the rest wait their turn. */
class Limiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((r) => this.#waiting.push(r));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

/** Options beyond the node's own settings. */
export interface DicomNodeOptions {
  /** `/v1`'s pipeline (registry, pixel limit, stage pool): frames are segmented as uploads are */
  pipeline: SegmentPipeline;
  softwareVersion: string;
  /** segmentations at once (the rest wait; default: half the model queue, at least 1) */
  concurrency?: number;
}

/** The node. */
export class DicomNode {
  readonly store: SegStore;
  readonly metrics: DicomNodeMetrics;
  readonly deliveries: Delivery[];
  readonly #limiter: Limiter;

  constructor(readonly config: DicomNodeConfig, readonly options: DicomNodeOptions) {
    const senders: SegSender[] = [];
    if (config.dimseDestination) senders.push(dimseSender(config.dimseDestination, config.aet));
    if (config.dicomwebDestination) senders.push(dicomwebSender(config.dicomwebDestination));
    this.metrics = new DicomNodeMetrics(() =>
      Object.fromEntries(senders.map((s) => [s.name, this.store.pending(s.name).length]))
    );
    this.store = new SegStore(
      config.outboxDir,
      senders.map((s) => s.name),
      config.outboxMax,
      config.segRetention,
      (destination, k) => {
        this.metrics.dropped.inc({ destination });
        log("error", "outbox full: oldest SEG dropped", {
          request_id: k.sourceUid,
          seg_uid: k.segUid,
          destination,
          outbox_max: config.outboxMax,
        });
      },
    );
    this.deliveries = senders.map((s) =>
      new Delivery(this.store, s, this.metrics, config.retryMaxMs)
    );
    this.#limiter = new Limiter(Math.max(1, options.concurrency ?? 4));
  }

  /** Whether any destination is configured. */
  get sends(): boolean {
    return this.deliveries.length > 0;
  }

  /** Opens the outbox and starts delivering what is queued (from a previous run too). */
  async start(): Promise<void> {
    if (!this.sends) return;
    await this.store.open();
    for (const d of this.deliveries) d.start();
    log("info", "dicom outbox open", {
      outbox: this.config.outboxDir,
      destinations: this.deliveries.map((d) => ({
        name: d.sender.name,
        target: d.sender.target,
        waiting: this.store.pending(d.sender.name).length,
      })),
    });
  }

  /** Stops the delivery loops (queued SEGs stay on disk). */
  async stop(): Promise<void> {
    await Promise.all(this.deliveries.map((d) => d.stop()));
  }

  /**
   * Segments one instance and stores its SEG (durably, before returning).
   * @throws {ApiError} when the instance cannot be decoded or segmented
   */
  async receive(bytes: Uint8Array, ctx: ReceiveContext, signal?: AbortSignal): Promise<Received> {
    const receivedMs = ctx.receivedMs ?? Date.now();
    this.metrics.received.inc({ via: ctx.via });
    const fields = { via: ctx.via, session: ctx.session, calling_aet: ctx.callingAet };
    let outcome: InstanceOutcome;
    try {
      // the DICOM writer (dcmjs, ~25 MB resident) loads with the first instance, as for /v1
      const { segmentInstance } = await import("./segment_instance.ts");
      outcome = await this.#limiter.run(() =>
        segmentInstance(bytes, {
          pipeline: this.options.pipeline,
          routes: this.config.routes,
          softwareVersion: this.options.softwareVersion,
          signal,
        })
      );
    } catch (err) {
      const code = err instanceof ApiError ? err.code : "internal";
      this.metrics.failed.inc({ via: ctx.via, code });
      log(code === "internal" ? "error" : "warn", "dicom instance failed", {
        ...fields,
        code,
        error: (err as Error).message,
      });
      throw err;
    }
    const facts = outcome.facts;
    if (outcome.kind === "not_routed") {
      this.metrics.notRouted.inc({ via: ctx.via });
      log("info", "dicom instance not segmented", {
        request_id: facts.sopInstanceUid,
        ...fields,
        modality: facts.modality,
        sop_class: facts.sopClassUid,
        reason: outcome.reason,
      });
      return { kind: "not_routed", outcome };
    }
    const seg = outcome.seg;
    const t0 = performance.now();
    try {
      await this.store.put(seg.bytes, seg.sopInstanceUid, facts.sopInstanceUid, receivedMs);
    } catch (err) {
      this.metrics.failed.inc({ via: ctx.via, code: "outbox" });
      log("error", "seg could not be stored in the outbox", {
        request_id: facts.sopInstanceUid,
        ...fields,
        outbox: this.config.outboxDir,
        error: (err as Error).message,
      });
      throw err;
    }
    for (const d of this.deliveries) d.wake();
    this.metrics.segmented.inc({ via: ctx.via, model: outcome.model.name });
    log("info", "dicom instance segmented", {
      request_id: facts.sopInstanceUid,
      ...fields,
      modality: facts.modality,
      transfer_syntax: facts.transferSyntax,
      frames: facts.frames,
      model: outcome.model.name,
      version: outcome.model.version,
      routed_by: outcome.routedBy,
      seg_uid: seg.sopInstanceUid,
      ms: outcome.ms,
      store_ms: Math.round((performance.now() - t0) * 100) / 100,
    });
    return { kind: "segmented", outcome, seg };
  }
}
