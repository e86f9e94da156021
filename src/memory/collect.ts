/**
 * Garbage collection on the server's schedule rather than only V8's. V8 collects an
 * isolate's old generation when it grows, and its memory reducer gives back what an idle
 * isolate holds only ~30 s after activity stops; meanwhile start-up garbage (module graphs,
 * model bytes, warm-up tensors) and what a burst of requests left stay resident in every
 * isolate — the HTTP thread's, each engine host Worker's and each codec pool Worker's. So
 * each isolate collects once the server is ready (the HTTP isolate once it has then been
 * quiet for `TINYUNET_IDLE_GC_MS`, so that its full collection does not hold the first
 * requests) and once it has been idle that long (default 1000 ms) after work; the allocator
 * keeper then trims what was freed (`keeper.ts`). 0 leaves it all to V8.
 *
 * The setting is `idle_gc_setting.ts`'s; this module takes it as a number and loads no
 * validation library, so that an engine host Worker can use it (it is given the value).
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";
let gc: (() => void) | undefined;
let workDone = 0;
let inFlight = 0;
/** the most work in flight at once since {@link takePeakInFlight} last looked */
let peakInFlight = 0;

/**
 * Counts a unit of work of this isolate and marks it running until the returned function is
 * called (a tiled run may last seconds: the keeper neither collects nor trims meanwhile).
 */
export function beginWork(): () => void {
  workDone++;
  peakInFlight = Math.max(peakInFlight, ++inFlight);
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    inFlight--;
  };
}

/** Work counted so far in this isolate (the keeper collects once it stops moving). */
export function isolateWork(): number {
  return workDone;
}

/**
 * The most work of this isolate in flight at once since the previous call (the first call:
 * since start); the count starts again from what runs now.
 */
export function takePeakInFlight(): number {
  const peak = peakInFlight;
  peakInFlight = inFlight;
  return peak;
}

/** Whether work begun with {@link beginWork} is running in this isolate now. */
export function isolateBusy(): boolean {
  return inFlight > 0;
}

/** What one collection freed: the isolate's used heap before and after, in bytes. */
export interface Collected {
  before: number;
  after: number;
}

/** Runs a full GC of this isolate (V8's `gc`, exposed through node:v8 flags once). */
export function collectGarbage(): Collected {
  if (!gc) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as () => void;
  }
  const before = v8.getHeapStatistics().used_heap_size;
  gc();
  return { before, after: v8.getHeapStatistics().used_heap_size };
}

/**
 * Collects (or does `onIdle`) once `delayMs` have passed since the last
 * {@link IdleCollector.touch} — for a Worker, touched after each job; the direct engine drops
 * its workspaces with one. The timer does not keep the isolate alive.
 */
export class IdleCollector {
  #timer?: ReturnType<typeof setTimeout>;
  #lastTouch = 0;
  /** collections so far */
  collections = 0;

  /**
   * @param delayMs idle time before a collection (ms; 0: never)
   * @param onIdle what to do then (default: collect this isolate's garbage)
   */
  constructor(readonly delayMs: number, private onIdle: () => void = collectGarbage) {}

  /**
   * Work was done: collect after `delayMs` more without another touch. A touch only notes
   * the time; the one pending timer waits out the rest when it fires early (no timer churn
   * per job).
   */
  touch(): void {
    if (this.delayMs <= 0) return;
    this.#lastTouch = performance.now();
    if (this.#timer === undefined) this.#arm(this.delayMs);
  }

  #arm(ms: number) {
    this.#timer = setTimeout(() => {
      const left = this.#lastTouch + this.delayMs - performance.now();
      if (left > 0) return this.#arm(left);
      this.#timer = undefined;
      this.onIdle();
      this.collections++;
    }, ms);
    Deno.unrefTimer(this.#timer);
  }

  /** Drops a pending collection. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
