/**
 * The delivery loop of one destination: takes the oldest queued SEGs (up to a batch),
 * sends them, and removes each one its destination acknowledged. When the destination is
 * unreachable the SEGs stay queued on disk and the loop waits (250 ms, doubling up to
 * `TINYUNET_OUTBOX_RETRY_MAX_MS`) before trying again; a new SEG wakes it at once.
 *
 * @module
 */
import { log } from "../server/log.ts";
import type { DicomNodeMetrics } from "./metrics.ts";
import type { SegKey, SegStore } from "./seg_store.ts";
import type { OutgoingSeg, SegSender, SendResult } from "./sender.ts";
import { SEGMENTATION_STORAGE } from "./sop_classes.ts";

/** SEGs sent in one association / one STOW-RS request. */
export const BATCH = 50;
/** A batch stops growing once its SEGs hold this many bytes (multi-frame SEGs can be megabytes each). */
export const BATCH_BYTES = 16 * 1024 * 1024;

/** Delivers one destination's queue. */
export class Delivery {
  #wake?: () => void;
  #stopped = false;
  #backoffMs = 0;
  #loop?: Promise<void>;
  #timer?: ReturnType<typeof setTimeout>;

  constructor(
    readonly store: SegStore,
    readonly sender: SegSender,
    readonly metrics: DicomNodeMetrics,
    readonly retryMaxMs: number,
  ) {}

  /** Starts the loop (idempotent). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** A new SEG is queued: send now unless waiting out a failure. */
  wake(): void {
    if (this.#backoffMs === 0) this.#wake?.();
  }

  /** Stops after the attempt in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }

  #sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        clearTimeout(this.#timer);
        resolve();
      };
      if (ms !== undefined) this.#timer = setTimeout(() => this.#wake?.(), ms);
    });
  }

  async #run(): Promise<void> {
    await this.store.open();
    while (!this.#stopped) {
      try {
        await this.#attempt();
      } catch (err) {
        // a fault of this node (disk): logged, and the loop goes on after a pause
        log("error", "seg delivery loop failed; will retry", {
          destination: this.sender.name,
          error: (err as Error).message,
        });
        await this.#sleep(Math.max(250, this.retryMaxMs));
      }
    }
  }

  /** Reads a queued SEG; a file gone from the queue folder is taken off the queue. */
  async #read(k: SegKey): Promise<OutgoingSeg | undefined> {
    try {
      const bytes = await this.store.read(this.sender.name, k);
      return { bytes, sopClassUid: SEGMENTATION_STORAGE, sopInstanceUid: k.segUid };
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      await this.store.delivered(this.sender.name, k);
      log("error", "queued seg file is missing; taken off the queue", {
        request_id: k.sourceUid,
        seg_uid: k.segUid,
        destination: this.sender.name,
      });
      return undefined;
    }
  }

  async #attempt(): Promise<void> {
    const name = this.sender.name;
    const pending = this.store.pending(name).slice(0, BATCH);
    if (pending.length === 0) {
      await this.#sleep();
      return;
    }
    const batch: SegKey[] = [];
    const segs: OutgoingSeg[] = [];
    let bytes = 0;
    for (const k of pending) {
      if (segs.length > 0 && bytes >= BATCH_BYTES) break;
      const seg = await this.#read(k);
      if (!seg) continue;
      batch.push(k);
      segs.push(seg);
      bytes += seg.bytes.length;
    }
    if (segs.length === 0) return;
    let results: SendResult[];
    const t0 = performance.now();
    try {
      results = await this.sender.send(segs);
    } catch (err) {
      results = batch.map(() => ({ status: "retry", reason: (err as Error).message }));
    }
    const sendMs = Math.round((performance.now() - t0) * 100) / 100;
    let retry = false;
    for (const [i, k] of batch.entries()) {
      const r = results[i];
      if (r.status === "ok") {
        await this.store.delivered(name, k);
        this.metrics.sent.inc({ destination: name });
        const latency = Date.now() - k.receivedMs;
        this.metrics.delivery.observe({ destination: name }, latency / 1000);
        log("info", "seg delivered", {
          request_id: k.sourceUid,
          seg_uid: k.segUid,
          destination: name,
          target: this.sender.target,
          latency_ms: latency,
          send_ms: sendMs,
          batch: batch.length,
        });
      } else if (r.status === "rejected") {
        await this.store.rejected(name, k);
        this.metrics.sendFailures.inc({ destination: name, kind: "rejected" });
        log("error", "seg refused by the destination; kept under failed/", {
          request_id: k.sourceUid,
          seg_uid: k.segUid,
          destination: name,
          reason: r.reason,
        });
      } else {
        retry = true;
        this.metrics.sendFailures.inc({ destination: name, kind: "retry" });
      }
    }
    if (retry) {
      this.#backoffMs = Math.min(this.retryMaxMs, Math.max(250, this.#backoffMs * 2));
      const reason = results.find((r) => r.status === "retry");
      log("warn", "seg delivery failed; will retry", {
        destination: name,
        target: this.sender.target,
        waiting: this.store.pending(name).length,
        retry_in_ms: this.#backoffMs,
        reason: reason && reason.status === "retry" ? reason.reason : undefined,
      });
      await this.#sleep(this.#backoffMs);
    } else {
      this.#backoffMs = 0;
    }
  }
}
