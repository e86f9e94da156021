/**
 * Keeps the server's resident memory near what it holds, not what it once held: fixes the
 * allocator's mmap threshold and, once a second, trims the allocator's arenas (see
 * `malloc.ts`) when they hold `slackMiB` (8) more freed memory, or the RSS grew that much,
 * since the last trim, at most every `intervalMs` — except after a quiet spell's collection:
 * once load stops, the tick that collects the spell's garbage (`idleGcMs` after the last
 * work) trims whatever the interval and slack, and the next one, if still quiet, whatever the
 * interval (the engine host and codec Workers collect a second after their last job): what a
 * load left goes back within ~2 s, not whenever the interval next allows (RSS 3 s after c=8
 * read 166 or, now and then, ~226 MiB before).
 *
 * While models run (one running, or begun since the previous tick), trims come at most every
 * `busyIntervalMs` (`TINYUNET_TRIM_BUSY_INTERVAL_MS`, 10 s): each page a trim hands back under
 * load is faulted in again by the next runs. c=8 side by side (two alternating rounds, 6 s): 2-s
 * trims made the HTTP thread fault 22-24 pages a request back in (37-40 against no trims
 * under load in another pair of rounds), 10-s trims 6-7; 184-188
 * against 196-205 req/s. A 4-minute soak each (one after the other): RSS drift +5.5 % against
 * −0.5 %, goodput 51.9 against 57.1/s, peak 748 against 758 MiB. Once the load stops, the quiet
 * interval applies again, and the quiet spell's collection gives back what the load left.
 *
 * With `busySlackMiB` (`TINYUNET_TRIM_BUSY_SLACK_MIB`, off by default), while models run (one
 * running, or begun since the previous tick) it trims only when that much more was freed: it
 * still bounds what transient peaks (a 4096² image's buffers) leave behind, but not the runs'
 * own churn — every trimmed page is faulted in again by the next run, and a fresh 4-KiB page
 * costs ~15 µs on the project's VM (100 MiB of 1-MiB blocks touched: 390 ms). With 64: c=8 wrk
 * side by side (three alternating rounds, training paused) 1 trim in 8 s instead of 4, minor
 * faults 73-131 per request against 124-165, 168-186 against 161-176 req/s; but a 5-minute soak
 * (2026-12-01 20:04 UTC, slow box, no run of the default beside it) grew 684 → 888 MiB (+29.7 %,
 * goal ±20 %), so it stays off until a side-by-side soak says otherwise. `/metrics` counts
 * trims and faults (`tinyunet_allocator_trims_total`, `tinyunet_page_faults_total`).
 *
 * Measured (`deno task soak`, first → last minute, box saturated by other jobs): before the
 * keeper 463 → 574 MiB (+24 %); with it 450 → 551 MiB (+22 %, 10 min); trimming under load
 * only for large releases 519 → 630 (+22 %); with a 512 KiB threshold 409 → 456 MiB (+12 %,
 * 5 min) — but a threshold that low maps every run's activation block afresh (4 MiB measured
 * −20 % req/s at c=8), so it is the memory-first choice, not the default.
 *
 * Large work (a V2 request with a tensor of many MiB) runs inside {@link largeWork}: while
 * any runs, the threshold drops to 1 MiB, so its body, output and other large buffers are
 * mapped on their own and go back to the system the moment they are freed, not into an
 * arena the trim reaches a second later (the tiles' activations, with onnxruntime's arena on
 * for native sessions, stay in the arena until it is shrunk, or with arenas per session until
 * the copy is renewed or its lane ends: one 512² tile's worth) (glibc still serves a block from a free heap chunk
 * that fits, which grows nothing); then the threshold returns and the arenas are trimmed.
 * Runs of small images meanwhile map their larger blocks too (slower while it
 * lasts). Measured (a 30 MB tensor after c=8 load, `deno task bench` part memory):
 * see bench/RESULTS.md.
 *
 * Settings: `TINYUNET_MALLOC_TRIM_MS` (the interval, 0: never trim),
 * `TINYUNET_TRIM_BUSY_INTERVAL_MS` (the interval while models run, never shorter; 0: the same),
 * `TINYUNET_TRIM_BUSY_SLACK_MIB` (see above) and `TINYUNET_MMAP_THRESHOLD_KB` (0: glibc's
 * sliding default, and no lowering for large work).
 *
 * @module
 */
import { mallocControl } from "./malloc.ts";
import {
  type Collected,
  collectGarbage,
  isolateBusy,
  isolateWork,
  takePeakInFlight,
} from "./collect.ts";

/** How the keeper behaves. */
export interface MemoryKeeperOptions {
  /**
   * shortest time between two trims (ms), but for the two after a quiet spell's collection;
   * 0 turns trimming off
   */
  intervalMs: number;
  /** fixed mmap threshold (bytes); 0 leaves glibc's sliding default */
  mmapThresholdBytes: number;
  /** trim only when freed memory or RSS grew by more than this since the last trim (default 8) */
  slackMiB?: number;
  /**
   * while models run (one running, or begun since the previous tick), trim only when freed
   * memory grew by more than this: a large transient (a big image's buffers), not the runs' own
   * churn (`TINYUNET_TRIM_BUSY_SLACK_MIB`); 0 or unset: the quiet rule applies under load too
   */
  busySlackMiB?: number;
  /**
   * while models run, the shortest time between two trims (ms; at least `intervalMs`): each
   * page a trim hands back under load is faulted in again by the next runs
   * (`TINYUNET_TRIM_BUSY_INTERVAL_MS`); quiet trims keep `intervalMs`
   */
  busyIntervalMs?: number;
  /** how often RSS is looked at */
  tickMs?: number;
  /** collect this isolate's garbage once no work was noted for this long (0: never; collect.ts) */
  idleGcMs?: number;
  /**
   * also collect once the keeper has run `idleGcMs` with no work (what start-up left), and
   * call this with what that collection freed (not called when work came first: that
   * collection also holds the requests' garbage); without it the first waits for work
   */
  onStartCollected?: (collected: Collected) => void;
  /**
   * called at each quiet spell's collection (so not with `idleGcMs` 0), before its trim (if
   * trims are on), with whether two units of this isolate's work (`collect.ts` `beginWork`:
   * model runs) were in flight at once since the previous one: memory held elsewhere is given
   * back to the allocator here so that the trim returns it (the native engine's shared arena,
   * `engines/native_arena.ts`)
   */
  onQuiet?: (spell: { overlapped: boolean }) => void;
}

/** What the keeper did, for logs and tests. */
export interface MemoryKeeperState {
  available: boolean;
  reason?: string;
  mmapThresholdBytes: number | null;
  trims: number;
  lastTrimMs: number | null;
  /** idle collections of this isolate's garbage so far */
  collections: number;
}

/** The mmap threshold while large work runs. */
export const LARGE_WORK_MMAP_BYTES = 1 << 20;

/** The keeper of this process (the allocator is one per process), if one runs. */
let running: MemoryKeeper | undefined;

/**
 * Runs `work` with the mmap threshold lowered to {@link LARGE_WORK_MMAP_BYTES} (nested and
 * concurrent calls share one lowering; the last one out restores it and trims). Without a
 * keeper with a fixed threshold it just runs `work`.
 */
export async function largeWork<T>(work: () => Promise<T>): Promise<T> {
  const keeper = running;
  const leave = keeper?.enterLargeWork();
  try {
    return await work();
  } finally {
    leave?.();
  }
}

/** What the process's keeper has done so far (undefined when none runs), for /metrics. */
export function keeperState(): Readonly<MemoryKeeperState> | undefined {
  return running?.state;
}

/**
 * Resident set of this process in MiB (`Deno.memoryUsage`: no permission needed, whereas
 * Deno lets only `--allow-all` read /proc/self, so the deployed command's scoped permissions
 * left the keeper blind and it never trimmed), or null.
 */
export function residentMiB(): number | null {
  try {
    const rss = Deno.memoryUsage().rss;
    return Number.isFinite(rss) && rss > 0 ? rss / 2 ** 20 : null;
  } catch {
    return null;
  }
}

/** The running keeper (one per process). */
export class MemoryKeeper {
  readonly state: MemoryKeeperState;
  #timer?: ReturnType<typeof setInterval>;
  #lastTrim = -Infinity;
  /** the previous tick collected a quiet spell's garbage: this one trims too */
  #trimAfterCollection = false;
  /** RSS and the arenas' free bytes right after the last trim (MiB) */
  #after = { rss: 0, free: 0 };
  /** large works running (see {@link largeWork}) */
  #large = 0;
  /** when work was last seen (a busy tick) and whether it was collected since */
  #work = { at: 0, collected: true };
  /** the work count at the previous tick (for the trim's slack: busy or quiet) */
  #workAtTick = isolateWork();
  /** the work count when the keeper started (for {@link MemoryKeeperOptions.onStartCollected}) */
  readonly #startWork = isolateWork();

  constructor(readonly options: MemoryKeeperOptions, now = performance.now()) {
    if (options.onStartCollected) this.#work = { at: now, collected: false };
    const control = mallocControl();
    const threshold = options.mmapThresholdBytes > 0 && control.setMmapThreshold(
        options.mmapThresholdBytes,
      )
      ? options.mmapThresholdBytes
      : null;
    this.state = {
      available: control.available,
      reason: control.reason,
      mmapThresholdBytes: threshold,
      trims: 0,
      lastTrimMs: null,
      collections: 0,
    };
    if ((control.available && options.intervalMs > 0) || (options.idleGcMs ?? 0) > 0) {
      const timer = setInterval(() => this.tick(), options.tickMs ?? 1000);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
    running = this;
  }

  /** Large works running now. */
  get largeWorks(): number {
    return this.#large;
  }

  /**
   * Lowers the mmap threshold for large work (when this keeper fixed one); the returned
   * function ends it, restoring the threshold and trimming once the last one ends.
   */
  enterLargeWork(): (() => void) | undefined {
    const normal = this.state.mmapThresholdBytes;
    if (normal === null || normal <= LARGE_WORK_MMAP_BYTES) return undefined;
    if (this.#large++ === 0) mallocControl().setMmapThreshold(LARGE_WORK_MMAP_BYTES);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.#large > 0) return;
      mallocControl().setMmapThreshold(normal);
      this.trim();
    };
  }

  /**
   * One look; trims when the interval (while models run, `busyIntervalMs` if longer) has
   * passed and, since the last trim, the arenas' free
   * memory or the RSS grew by more than `slackMiB` — or, with `busySlackMiB` set and models
   * running (one running or begun since the previous tick), the free memory alone by more
   * than `busySlackMiB`.
   * (Trimmed pages stay counted as free, so the free bytes alone would call for a trim every
   * interval; a trimmed chunk that is used again shows as RSS.)
   */
  tick(now = performance.now()): boolean {
    const work = isolateWork();
    const busy = work !== this.#workAtTick || isolateBusy();
    this.#workAtTick = work;
    const collected = this.#collectWhenIdle(now, work, busy);
    if (collected) {
      try {
        const overlapped = takePeakInFlight() > 1;
        this.options.onQuiet?.({ overlapped });
      } catch { /* a hook must not stop the keeper */ }
    }
    if (this.options.intervalMs <= 0) return false;
    // a quiet spell's collection: what it freed goes back now; on the next tick, if still
    // quiet, what the Workers' own idle collections (a second after their last job) freed
    // goes back too when it is worth it (the slack below), whatever the interval
    const afterCollection = this.#trimAfterCollection && !busy;
    this.#trimAfterCollection = collected;
    if (collected) return this.trim(now);
    const interval = busy
      ? Math.max(this.options.intervalMs, this.options.busyIntervalMs ?? 0)
      : this.options.intervalMs;
    if (!afterCollection && now - this.#lastTrim < interval) return false;
    const free = mallocControl().freeBytes();
    const rss = residentMiB();
    if (free === null || rss === null) return false;
    const freed = free / 2 ** 20 - this.#after.free;
    const slack = this.options.slackMiB ?? 8;
    // under load, RSS grows with what runs (lanes, their buffers): only a large transient's
    // freed memory is worth giving back, since each trimmed page is faulted in again
    const busySlack = this.options.busySlackMiB ?? 0;
    const due = busy && busySlack > 0
      ? freed > busySlack
      : freed > slack || rss - this.#after.rss > slack;
    return due && this.trim(now);
  }

  /**
   * Collects this isolate's garbage once work stopped `idleGcMs` ago (once per quiet spell);
   * whether it collected now.
   */
  #collectWhenIdle(now: number, work: number, busy: boolean): boolean {
    const idleMs = this.options.idleGcMs ?? 0;
    if (idleMs <= 0) return false;
    // the work stopped before the last busy tick; a timer firing a little early still counts
    const jitter = Math.min(50, idleMs / 10);
    if (busy) this.#work = { at: now, collected: false };
    else if (!this.#work.collected && now - this.#work.at >= idleMs - jitter) {
      const collected = collectGarbage();
      this.#work.collected = true;
      this.state.collections++;
      // only a collection with no work since the start is what start-up left
      if (this.state.collections === 1 && work === this.#startWork) {
        try {
          this.options.onStartCollected?.(collected);
        } catch { /* a report must not stop the keeper */ }
      }
      return true;
    }
    return false;
  }

  /** Trims now (whatever RSS says); false where the allocator cannot. */
  trim(now = performance.now()): boolean {
    const ms = mallocControl().trim();
    if (ms === null) return false;
    this.#lastTrim = now;
    this.state.trims++;
    this.state.lastTrimMs = Math.round(ms * 10) / 10;
    this.#after = {
      rss: residentMiB() ?? 0,
      free: (mallocControl().freeBytes() ?? 0) / 2 ** 20,
    };
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
    if (running === this) running = undefined;
  }
}
