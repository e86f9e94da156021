/**
 * Dynamic batching in front of a model version's queue (Triton's dynamic batcher is the
 * model): requests whose inputs have the same shape wait up to `maxDelayMs` for company;
 * up to `maxBatch` of them run as one engine run with the inputs stacked on the batch axis,
 * and each gets its slice of the outputs back.
 *
 * Off by default (`maxBatch` 1): on the CPU engines a batch costs about as much per image
 * as single runs (bench/RESULTS.md: the student at b1 vs b4/b8), so waiting only adds
 * latency; on a GPU engine a batch is nearly free. Settings: `TINYUNET_MAX_BATCH`,
 * `TINYUNET_BATCH_DELAY_MS`.
 *
 * @module
 */
import type { Tensor } from "../engines/engine.ts";
import { type JobTimings, QueueAbortedError, type QueueTicket, type SerialQueue } from "./queue.ts";

/** Batching settings. */
export interface BatchSettings {
  /** most requests per run (1: no batching) */
  maxBatch: number;
  /** longest a request waits for others before its batch runs */
  maxDelayMs: number;
}

interface Item {
  feeds: Record<string, Tensor>;
  signal?: AbortSignal;
  ticket?: QueueTicket;
  arrived: number;
  resolve(v: { value: Record<string, Tensor>; timings: JobTimings; batch: number }): void;
  reject(err: unknown): void;
}

interface Group {
  items: Item[];
  timer?: ReturnType<typeof setTimeout>;
}

/** The batch-axis size of a set of inputs (their first dimension; all must agree). */
function batchOf(feeds: Record<string, Tensor>): number {
  const sizes = Object.values(feeds).map((t) => t.dims[0] ?? 1);
  return sizes.every((n) => n === sizes[0]) ? sizes[0] ?? 1 : -1;
}

function shapeKey(feeds: Record<string, Tensor>): string {
  return Object.entries(feeds).map(([k, t]) => `${k}:${t.dims.slice(1).join("x")}`).sort().join(
    ";",
  );
}

/** Stacks tensors of the same shape (but the first axis) along the first axis. */
export function stack(tensors: Tensor[]): Tensor {
  const n = tensors.reduce((a, t) => a + t.dims[0], 0);
  const data = new Float32Array(tensors.reduce((a, t) => a + t.data.length, 0));
  let at = 0;
  for (const t of tensors) {
    data.set(t.data, at);
    at += t.data.length;
  }
  return { data, dims: [n, ...tensors[0].dims.slice(1)] };
}

/** Splits a tensor along the first axis into parts of the given sizes. */
export function unstack(t: Tensor, sizes: number[]): Tensor[] {
  const per = t.data.length / t.dims[0];
  let at = 0;
  return sizes.map((n) => {
    const part = { data: t.data.slice(at * per, (at + n) * per), dims: [n, ...t.dims.slice(1)] };
    at += n;
    return part;
  });
}

/** Groups same-shape requests into batched runs on one queue. */
export class Batcher {
  #groups = new Map<string, Group>();

  constructor(
    private queue: SerialQueue,
    /** one engine run; `signal` is the request's when the run serves one request alone */
    private runBatch: (
      feeds: Record<string, Tensor>,
      signal?: AbortSignal,
    ) => Promise<Record<string, Tensor>>,
    readonly settings: BatchSettings,
  ) {}

  /**
   * Runs `feeds` alone or in a batch; resolves with this request's outputs.
   * @throws {QueueAbortedError} when `signal` aborts while it waits
   */
  run(
    feeds: Record<string, Tensor>,
    signal?: AbortSignal,
    ticket?: QueueTicket,
  ): Promise<{ value: Record<string, Tensor>; timings: JobTimings; batch: number }> {
    if (this.settings.maxBatch <= 1 || batchOf(feeds) !== 1) {
      return this.queue.run(() => this.runBatch(feeds, signal), signal, ticket).then((r) => ({
        ...r,
        batch: 1,
      }));
    }
    if (signal?.aborted) {
      ticket?.release();
      return Promise.reject(new QueueAbortedError(signal.reason));
    }
    const key = shapeKey(feeds);
    return new Promise((resolve, reject) => {
      let group = this.#groups.get(key);
      if (!group) {
        group = { items: [] };
        this.#groups.set(key, group);
      }
      group.items.push({ feeds, signal, ticket, arrived: performance.now(), resolve, reject });
      if (group.items.length >= this.settings.maxBatch) this.#flush(key);
      else {
        group.timer ??= setTimeout(() => this.#flush(key), this.settings.maxDelayMs);
      }
    });
  }

  #flush(key: string) {
    const group = this.#groups.get(key);
    if (!group) return;
    this.#groups.delete(key);
    clearTimeout(group.timer);
    const items: Item[] = [];
    for (const it of group.items) {
      if (it.signal?.aborted) {
        it.ticket?.release();
        it.reject(new QueueAbortedError(it.signal.reason));
      } else items.push(it);
    }
    if (items.length === 0) return;
    // one queue place for the batch: the first request's; the others give theirs back
    for (const it of items.slice(1)) it.ticket?.release();
    const names = Object.keys(items[0].feeds);
    const feeds = Object.fromEntries(
      names.map((
        n,
      ) => [n, items.length === 1 ? items[0].feeds[n] : stack(items.map((it) => it.feeds[n]))]),
    );
    const flushed = performance.now();
    const alone = items.length === 1 ? items[0].signal : undefined;
    this.queue.run(() => this.runBatch(feeds, alone), undefined, items[0].ticket).then(
      ({ value, timings }) => {
        const parts = Object.fromEntries(
          Object.entries(value).map(([n, t]) => [n, unstack(t, items.map(() => 1))]),
        );
        items.forEach((it, i) => {
          it.resolve({
            value: Object.fromEntries(Object.entries(parts).map(([n, p]) => [n, p[i]])),
            timings: {
              queueMs: flushed - it.arrived + timings.queueMs,
              computeMs: timings.computeMs,
            },
            batch: items.length,
          });
        });
      },
      (err) => items.forEach((it) => it.reject(err)),
    );
  }
}
