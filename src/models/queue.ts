/**
 * A bounded FIFO queue that runs jobs one at a time (or `lanes` at a time, for a session
 * with that many engine lanes). An engine lane must not run two jobs at once, so each
 * loaded model version has one of these in front of its session.
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

/** Thrown when a job is abandoned (its signal aborted) before it started, or a tiled run stops between tiles. */
export class QueueAbortedError extends Error {
  constructor(readonly reason?: unknown, when = "abandoned while queued") {
    super(
      `${when}${reason ? `: ${reason instanceof Error ? reason.message : reason}` : ""}`,
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

/**
 * A place in a queue reserved at admission, before the request's body is read: the
 * request then either runs with it ({@link SerialQueue.run}) or gives it back.
 */
export interface QueueTicket {
  readonly queue: SerialQueue;
  /** Gives the place back (idempotent; running with the ticket releases it too). */
  release(): void;
}

/**
 * A process-wide cap on engine runs in flight, shared by the queues of every model
 * (`TINYUNET_MAX_RUNS`, off by default): each model may run `lanes` jobs at once, so four
 * busy models with two lanes each run up to eight at once, each run's activations resident
 * meanwhile and, with the native arena, until it is shrunk (arenas per session: its copy
 * renewed) or its lane ends (a 512² run
 * of the student: ~45 MiB). A queue whose next job finds no permit
 * waits for one; a freed permit wakes the waiting queues in the order they asked.
 *
 * Measured with `deno task soak` (four models, 2 cores): 2 permits held RSS at 556-629 MiB
 * (500-920 without) but cost ~20 % of the goodput (~49 against ~62 2xx/s: a permit stays
 * unused while the finished run's answer crosses to the event loop); 4 permits changed
 * neither. So it is a knob for a box short of memory, not a default.
 */
export class RunGate {
  #inUse = 0;
  #wakers: (() => void)[] = [];

  /** @param permits runs in flight at most (≥ 1) */
  constructor(readonly permits: number) {}

  /** Runs in flight now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Takes a permit if one is free. */
  tryAcquire(): boolean {
    if (this.#inUse >= this.permits) return false;
    this.#inUse++;
    return true;
  }

  /** Calls `wake` once a permit may be free (a queue asks once, however often it calls). */
  wait(wake: () => void): void {
    if (!this.#wakers.includes(wake)) this.#wakers.push(wake);
  }

  /** Gives a permit back and wakes waiting queues until the free permits are taken. */
  release(): void {
    this.#inUse--;
    while (this.#inUse < this.permits && this.#wakers.length > 0) this.#wakers.shift()!();
  }
}

/** A serial job queue with a bound on waiting jobs. */
export class SerialQueue {
  #waiting: Job[] = [];
  #running = 0;
  #avgComputeMs = 50;
  #reserved = 0;
  readonly #wake = () => this.#next();

  /**
   * @param maxPending waiting jobs allowed (the running ones not counted)
   * @param lanes jobs that may run at once (1: strictly serial; a session with several
   *   engine lanes runs that many at once)
   * @param gate the process-wide cap on runs in flight, when there is one
   */
  constructor(readonly maxPending = 64, readonly lanes = 1, readonly gate?: RunGate) {}

  /** Jobs waiting, not counting the running one. */
  get depth(): number {
    return this.#waiting.length;
  }

  /** Places reserved by admitted requests that have not started their run yet. */
  get reserved(): number {
    return this.#reserved;
  }

  /** Requests that will run after the running ones: jobs waiting plus places reserved. */
  get ahead(): number {
    return this.#waiting.length + this.#reserved;
  }

  /**
   * Reserves a place at admission (≤ maxPending waiting or reserved, plus the running ones).
   * @throws {QueueFullError} when no place is left
   */
  reserve(): QueueTicket {
    const load = this.#running + this.ahead;
    if (load >= this.maxPending + this.lanes) throw this.#full();
    this.#reserved++;
    let held = true;
    return {
      queue: this,
      release: () => {
        if (!held) return;
        held = false;
        this.#reserved--;
      },
    };
  }

  #full(): QueueFullError {
    const retry = Math.max(1, Math.ceil(((this.ahead + 1) * this.#avgComputeMs) / 1000));
    return new QueueFullError(this.ahead, retry);
  }

  /** Whether a job is running now. */
  get busy(): boolean {
    return this.#running > 0;
  }

  /** Jobs running now. */
  get runningJobs(): number {
    return this.#running;
  }

  /**
   * Runs `fn` when its turn comes.
   * @param signal abandons the job if aborted while it still waits (its slot is freed)
   * @param ticket a place reserved with {@link reserve}: the job takes it (no full check)
   * @returns the job's result and its queue/compute timings
   * @throws {QueueFullError} when `maxPending` jobs already wait
   * @throws {QueueAbortedError} when `signal` aborts before the job starts
   */
  run<T>(
    fn: () => Promise<T>,
    signal?: AbortSignal,
    ticket?: QueueTicket,
  ): Promise<{ value: T; timings: JobTimings }> {
    const reserved = ticket?.queue === this;
    ticket?.release();
    if (signal?.aborted) return Promise.reject(new QueueAbortedError(signal.reason));
    if (
      !reserved && this.#running >= this.lanes &&
      this.ahead >= this.maxPending
    ) {
      return Promise.reject(this.#full());
    }
    const enqueued = performance.now();
    return new Promise((resolve, reject) => {
      const job: Job = {
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          const started = performance.now();
          this.#running++;
          const done = () => {
            this.#running--;
            this.gate?.release();
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
      this.#next();
    });
  }

  /** Resolves once nothing runs or waits (for graceful shutdown and model swaps). */
  async drain(): Promise<void> {
    while (this.#running > 0 || this.#waiting.length > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  #next() {
    while (this.#running < this.lanes && this.#waiting.length > 0) {
      if (this.gate && !this.gate.tryAcquire()) return this.gate.wait(this.#wake);
      this.#waiting.shift()!.start();
    }
  }
}
