/**
 * Which runs of the native direct kernels take two threads (`tu_run_split` in kernels.c):
 * one that starts alone in this isolate, a quiet spell after runs last overlapped (onnxruntime
 * runs of this isolate's sessions count as runs), and only where that program's lone runs
 * have gone faster on two threads than on one.
 *
 * @module
 */
import type { DirectProgram } from "./program.ts";

/**
 * How long after two runs overlapped a run still takes one thread. Under load (runs overlap
 * all the time) a split run meets the next run, three threads on two cores: in alternating
 * starts at c=8, splitting every run that found none going cost 7 % of the throughput and
 * p99 28 → 36 ms; runs one at a time (c=1) never overlap and keep splitting.
 */
export const SPLIT_QUIET_MS = 250;

/**
 * Which runs may take two threads: one that starts alone after {@link SPLIT_QUIET_MS} without
 * overlap, and that long after another engine's run (onnxruntime: its pool threads spin on
 * after a run).
 */
export class SplitPolicy {
  #running = 0;
  #others = 0;
  #lastOverlap = -Infinity;

  constructor(private quietMs = SPLIT_QUIET_MS) {}

  /**
   * A run starts; whether it may take two threads.
   * @param canSplit whether this run could (splitting on, the library has it)
   * @param now performance.now()
   */
  start(canSplit: boolean, now = performance.now()): boolean {
    if (this.#running > 0 || this.#others > 0) this.#lastOverlap = now;
    this.#running++;
    return canSplit && this.#running === 1 && now - this.#lastOverlap >= this.quietMs;
  }

  /**
   * Another engine's run (or session load) starts here; call the result when it ends.
   * @param now performance.now()
   */
  other(now = performance.now()): (now?: number) => void {
    if (this.#running > 0) this.#lastOverlap = now;
    this.#others++;
    let ended = false;
    return (end = performance.now()) => {
      if (ended) return;
      ended = true;
      this.#others--;
      this.#lastOverlap = end;
    };
  }

  /** A run ended. */
  end(): void {
    this.#running--;
  }
}

/** A lone run of a program tries the other way once in this many. */
export const SPLIT_PROBE_EVERY = 16;

/**
 * Whether a program's lone runs go faster on two threads, from how they went (moving
 * averages of each way's time). Two threads lose where the second core is busy with other
 * processes' work, which no policy here can see: with another process on the other core, a
 * split run of the ISIC student took 2.9 ms against 1.6 on one thread. So each program tries
 * two twice, then one twice (the first of each way is not counted: it may start the helper
 * thread or find a cold cache), keeps the faster and tries the other again now and then.
 */
export class SplitChoice {
  #ms = { one: NaN, two: NaN };
  #seen = { one: 0, two: 0 };
  #runs = 0;

  /** Whether the next lone run takes two threads. */
  wantTwo(): boolean {
    this.#runs++;
    if (this.#seen.two < 2) return true;
    if (this.#seen.one < 2) return false;
    const better = this.#ms.two < this.#ms.one;
    return this.#runs % SPLIT_PROBE_EVERY === 0 ? !better : better;
  }

  /** A lone run took `ms` on two threads or one. */
  record(two: boolean, ms: number): void {
    const k = two ? "two" : "one";
    if (++this.#seen[k] === 1) return;
    this.#ms[k] = Number.isNaN(this.#ms[k]) ? ms : 0.7 * this.#ms[k] + 0.3 * ms;
  }
}

/** This isolate's off-thread runs (all sessions). */
const splitPolicy = new SplitPolicy();
/** Each program's lone runs (a program lives as long as its runner keeps its size). */
const splitChoices = new WeakMap<DirectProgram, SplitChoice>();
/** Runs of this isolate that took two threads. */
let splits = 0;

/**
 * An off-thread run of `program` starts: whether it takes two threads, and `end` to call when
 * it is over (`finished`: it returned; then a lone run's time goes to its program's choice).
 * @param canSplit splitting is on and the library has threads (`tu_run_pooled`, `tu_run_split`)
 */
export function startRun(program: DirectProgram, canSplit: boolean): {
  two: boolean;
  end(finished: boolean): void;
} {
  const alone = splitPolicy.start(canSplit);
  let choice = alone ? splitChoices.get(program) : undefined;
  if (alone && !choice) splitChoices.set(program, choice = new SplitChoice());
  const two = choice?.wantTwo() ?? false;
  if (two) splits++;
  const t0 = performance.now();
  return {
    two,
    end(finished) {
      splitPolicy.end();
      if (finished) choice?.record(two, performance.now() - t0);
    },
  };
}

/**
 * An onnxruntime run (or session load) of this isolate starts; call the result when it ends.
 * Its pool threads compete with a split run's two, and spin on a while after it: in
 * `bench/quant_latency.ts`, fp32 split runs interleaved with int8 runs on onnxruntime's two
 * threads took 4.8 ms against 2.6 on one thread (ISIC). So none splits while one goes, nor
 * {@link SPLIT_QUIET_MS} after.
 */
export function otherEngineRun(): () => void {
  return splitPolicy.other();
}

/** Off-thread runs of this isolate that were let take two threads (where splitting is on). */
export function splitRuns(): number {
  return splits;
}
