/**
 * A bounded FIFO queue that runs jobs one at a time. ONNX sessions must not run
 * concurrently, so each loaded model version has one of these in front of its session.
 * When `maxPending` jobs are already waiting, new ones are refused at once
 * ({@link QueueFullError} → HTTP 503 with Retry-After) instead of piling up.
 *
 * @module
 */

/** Thrown when the queue already holds its maximum of waiting jobs. */
export class QueueFullError extends Error {
  constructor(readonly depth: number, readonly retryAfterSeconds: number) {
    super(`queue is full (${depth} waiting)`);
    this.name = "QueueFullError";
  }
}

/** Thrown when a job is abandoned (its signal aborted) before it started. */
export class QueueAbortedError extends Error {
  constructor(reason?: unknown) {
    super(
      `abandoned while queued${
        reason ? `: ${reason instanceof Error ? reason.message : reason}` : ""
      }`,
    );
    this.name = "QueueAbortedError";
  }
}

/** How long a job waited and ran, in milliseconds. */
export interface JobTimings {
  queueMs: number;
  computeMs: number;
}

interface Job {
  start: () => void;
}

/** A serial job queue with a bound on waiting jobs. */
export class SerialQueue {
  #waiting: Job[] = [];
  #running = false;
  #avgComputeMs = 50;

  /** @param maxPending waiting jobs allowed (the running one not counted) */
  constructor(readonly maxPending = 64) {}

  /** Jobs waiting, not counting the running one. */
  get depth(): number {
    return this.#waiting.length;
  }

  /** Whether a job is running now. */
  get busy(): boolean {
    return this.#running;
  }

  /**
   * Runs `fn` when its turn comes.
   * @param signal abandons the job if aborted while it still waits (its slot is freed)
   * @returns the job's result and its queue/compute timings
   * @throws {QueueFullError} when `maxPending` jobs already wait
   * @throws {QueueAbortedError} when `signal` aborts before the job starts
   */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<{ value: T; timings: JobTimings }> {
    if (signal?.aborted) return Promise.reject(new QueueAbortedError(signal.reason));
    if (this.#running && this.#waiting.length >= this.maxPending) {
      const retry = Math.max(
        1,
        Math.ceil(((this.#waiting.length + 1) * this.#avgComputeMs) / 1000),
      );
      return Promise.reject(new QueueFullError(this.#waiting.length, retry));
    }
    const enqueued = performance.now();
    return new Promise((resolve, reject) => {
      const job: Job = {
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          const started = performance.now();
          this.#running = true;
          const done = () => {
            this.#running = false;
            this.#next();
          };
          fn().then(
            (value) => {
              const computeMs = performance.now() - started;
              this.#avgComputeMs = this.#avgComputeMs * 0.8 + computeMs * 0.2;
              done();
              resolve({ value, timings: { queueMs: started - enqueued, computeMs } });
            },
            (err) => {
              done();
              reject(err);
            },
          );
        },
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(job);
        if (i >= 0) {
          this.#waiting.splice(i, 1);
          reject(new QueueAbortedError(signal?.reason));
        }
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(job);
      if (!this.#running) this.#next();
    });
  }

  /** Resolves once nothing runs or waits (for graceful shutdown and model swaps). */
  async drain(): Promise<void> {
    while (this.#running || this.#waiting.length > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  #next() {
    if (this.#running) return;
    const job = this.#waiting.shift();
    job?.start();
  }
}
