/**
 * Sessions on the engine hosts (`engine_host.ts`): a model's copies — the first lane in its
 * runtime's shared host Worker, more lanes in Workers of their own on demand, and for native a
 * solo copy (on the HTTP isolate, `local_host.ts`, or in a Worker) — with a hang watchdog per
 * session. Native local first (the default on two cores or more) loads only the solo copy at
 * start, so an idle server holds no host Worker (see {@link HostedSession}).
 *
 * A warm-up run that does not finish within the hang timeout restarts the host (a fresh
 * Worker; the other sessions on it are loaded and warmed again there) and retries; after the
 * retries the session falls back to one thread (a host of its own thread count) and records
 * why in `notes`. A hang after warm-up rejects that run with {@link EngineHangError} and
 * restarts the host, so later runs are served again.
 *
 * @module
 */
import {
  EngineHangError,
  type EngineName,
  type EngineSession,
  type ModelSource,
  type SessionOptions,
  type Tensor,
  type Warmup,
  warmupTensors,
} from "./engine.ts";
import type { HostBackend, LoadMessage } from "./host_worker.ts";
import { engineSettings, hostLoadSettings, sessionArena } from "./settings.ts";
import { nativeArenaShared, shrinkNativeArena } from "./native_arena.ts";
import type { SpinMode } from "./native_options.ts";
import {
  DEFAULT_HANG_MS,
  type EngineHost,
  HOST_WORKER_URL,
  hostFor,
  type Names,
} from "./engine_host.ts";
import { LocalHost } from "./local_host.ts";

/** A lane that failed to load is not tried again for this long (ms). */
const LANE_RETRY_MS = 10_000;

let nextSid = 1;

/** The many-thread copy of a session, for runs that find nothing else in flight. */
interface Solo extends Lane {
  threads: number;
}

/** Where a copy of a session lives: an engine host Worker, or this isolate (the native solo copy). */
type RunHost = Pick<EngineHost, "load" | "run" | "release" | "restart" | "sessions">;

let localHost: LocalHost | undefined;

/** One more copy of the session in another host (its own thread), loaded on demand. */
interface Lane {
  host?: RunHost;
  sid: number;
  inflight: number;
  state: "idle" | "loading" | "ready" | "failed";
  /**
   * releases the lane once it has been idle for `laneIdleMs` (the copy kept for the
   * session's life: renews it, see `#renewLater`)
   */
  idleTimer?: ReturnType<typeof setTimeout>;
  /** runs sent to this copy so far (a renewal keeps the old copy if one came meanwhile) */
  runs?: number;
  /** a renewal is loading */
  renewing?: boolean;
  /** after a failed load: not loaded again before this time (performance.now()) */
  retryAt?: number;
}

/**
 * A hang-guarded session in a shared engine host. With `lanes` > 1, more copies of the
 * session are loaded on demand (the first time a run finds every loaded copy busy), each in
 * its own host Worker, so that many runs of the model proceed at once on as many threads.
 *
 * With `soloThreads` (native), a second copy of the session with that many threads serves a
 * run that finds no other run of the model in flight, no other request admitted for it
 * (`othersWaiting`, uploads included) and, for a copy on this isolate, no other solo run
 * pending here (a lone request at 2 threads: 6.1 → 3.9 ms for the ISIC student at 256×192
 * here), while overlapping runs use the one-thread lanes, which share the cores better. Its
 * pool threads spin between kernels while a run lasts and stop at its end
 * (`TINYUNET_SOLO_SPIN=run`, onnxruntime's `session.force_spinning_stop`): sleeping between
 * kernels (`0`) cost a lone request 0.4-1.5 ms of wake-ups (c=1 p50 6.6/7.7 against 6.0/6.2
 * ms, alternating, 2026-11-30 21:50 UTC), and spinning on after a run (`1`) took the cores
 * from the lanes (c=8 173-184 against 186-190 req/s) and raised c=1's CPU per request
 * (12.5-12.8 against 10.2-10.5 ms).
 *
 * **Local first** (native, solo copy on this isolate: `TINYUNET_SOLO_LOCAL=1` and
 * `TINYUNET_LOCAL_FIRST=1`, the defaults where there are two cores or more): the solo copy is the one loaded and warmed at start
 * and kept (`local_host.ts`: a lone run skips the two Worker hops, c=1 p50 −0.3 ms); every
 * lane, the first included, is a host Worker loaded when runs overlap and released after
 * `laneIdleMs` without a run. An idle server then holds no engine host Worker (~38 MiB each
 * with the four shipped models: idle RSS 152-155 → 121-126 MiB); until a lane is ready, overlapping
 * runs wait their turn on the solo copy. Otherwise (web engines, one core, `LOCAL_FIRST=0`) the
 * first lane is loaded at start and kept, and the solo copy after the first run.
 */
export class HostedSession implements EngineSession {
  readonly notes: string[] = [];
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  /** the first lane: the shared host of its runtime */
  #first: Lane = { sid: 0, inflight: 0, state: "idle" };
  #extra: Lane[] = [];
  #released = false;
  #threads: number;
  #warmup?: Warmup;
  #solo?: Solo;
  #laneIdleMs = 0;
  #laneRetryMs = LANE_RETRY_MS;
  #soloLocal = false;
  #localFirst = false;
  #othersWaiting: () => number = () => 0;

  private constructor(
    readonly engine: EngineName,
    private backend: HostBackend,
    private model: ModelSource,
    threads: number,
    private hangMs: number,
    private workerUrl: URL,
  ) {
    this.#threads = threads;
  }

  get threads() {
    return this.#threads;
  }

  /** Runs that may be in flight at once (the first lane plus the on-demand ones). */
  get lanes() {
    return 1 + this.#extra.length;
  }

  /** Lanes loaded now (for tests and metadata). */
  get lanesLoaded() {
    return this.#allLanes().filter((l) => l.state === "ready").length;
  }

  /** The solo copy is loaded at start on this isolate and lanes only on demand (see above). */
  get localFirst(): boolean {
    return this.#localFirst;
  }

  /**
   * Loads the model and runs the warm-up under the watchdog: into the shared host, or (local
   * first) into the solo copy on this isolate.
   * @param watchdog.retries host restarts to try at the requested thread count before falling back to 1
   * @param watchdog.workerUrl the host script (tests substitute a scripted one)
   * @param watchdog.soloLocal native: the solo copy on this isolate (default
   *   `TINYUNET_SOLO_LOCAL`); false keeps it in the first lane's host (a scripted host's tests)
   * @param watchdog.localFirst with a solo copy on this isolate, load it first and the lanes on
   *   demand (default `TINYUNET_LOCAL_FIRST`)
   * @param watchdog.laneRetryMs a lane that failed to load waits this long before it is tried
   *   again (default 10 s)
   */
  static async create(
    engine: EngineName,
    backend: HostBackend,
    model: ModelSource,
    options: SessionOptions,
    defaultThreads: number,
    watchdog: {
      retries?: number;
      workerUrl?: URL;
      soloLocal?: boolean;
      localFirst?: boolean;
      laneRetryMs?: number;
    } = {},
  ): Promise<HostedSession> {
    const lanes = Math.max(1, Math.floor(options.lanes ?? 1));
    let retries = watchdog.retries ?? 2;
    const threads = Math.max(1, options.threads ?? defaultThreads);
    const session = new HostedSession(
      engine,
      backend,
      model,
      threads,
      options.hangTimeoutMs ?? DEFAULT_HANG_MS,
      watchdog.workerUrl ?? HOST_WORKER_URL,
    );
    session.#warmup = options.warmup;
    if (backend === "native" && (options.soloThreads ?? 0) > threads) {
      session.#solo = { threads: options.soloThreads!, sid: 0, inflight: 0, state: "idle" };
    }
    session.#laneIdleMs = Math.max(0, options.laneIdleMs ?? 0);
    session.#laneRetryMs = watchdog.laneRetryMs ?? LANE_RETRY_MS;
    if (options.othersWaiting) session.#othersWaiting = options.othersWaiting;
    session.#soloLocal = backend === "native" &&
      (watchdog.soloLocal ?? engineSettings().soloLocal);
    session.#localFirst = session.#soloLocal && session.#solo !== undefined &&
      (watchdog.localFirst ?? engineSettings().localFirst);
    for (let i = 1; i < lanes; i++) session.#extra.push({ sid: 0, inflight: 0, state: "idle" });
    if (session.localFirst) {
      try {
        await session.#startLocal();
        return session;
      } catch (err) {
        // the one-thread lanes in host Workers may still serve it
        session.notes.push(
          `solo session (${session.#solo!.threads} threads) on the HTTP isolate failed to load (${
            (err as Error).message
          }); lanes in engine host Workers instead`,
        );
        session.#localFirst = false;
      }
    }
    for (let attempt = 0;; attempt++) {
      try {
        await session.#start(options.warmup);
        return session;
      } catch (err) {
        if (!(err instanceof EngineHangError)) throw err;
        if (attempt < retries) {
          session.notes.push(`warm-up hung with ${session.#threads} threads; restarted the worker`);
          continue;
        }
        if (session.#threads === 1) throw err;
        session.notes.push(
          `warm-up hung ${attempt + 1}× with ${session.#threads} threads; fell back to 1 thread`,
        );
        session.#threads = 1;
        retries = attempt + 1; // one more try at 1 thread
      }
    }
  }

  /** Loads and warms the first lane in the shared host (kept for the session's life). */
  #start(warmup?: Warmup) {
    const host = hostFor(this.backend, this.#threads, this.workerUrl);
    return this.#startCopy(this.#first, host, this.#threads, "always", warmup);
  }

  /** Local first: loads and warms the solo copy on this isolate (kept for the session's life). */
  #startLocal() {
    const solo = this.#solo!;
    return this.#startCopy(solo, this.#soloHost()!, solo.threads, this.soloSpin, this.#warmup);
  }

  /**
   * Loads and warms the copy every run can count on (the first lane, or local first the solo
   * copy); on failure it is left unloaded (a hung one restarts its host for the others).
   */
  async #startCopy(
    copy: Lane,
    host: RunHost,
    threads: number,
    spin: SpinMode,
    warmup?: Warmup,
  ) {
    copy.host = host;
    copy.sid = nextSid++;
    copy.state = "loading";
    try {
      const names = await this.#loadCopy(host, copy.sid, threads, spin, warmup);
      this.inputNames = names.inputNames;
      this.outputNames = names.outputNames;
      copy.state = "ready";
    } catch (err) {
      const hung = err instanceof EngineHangError;
      host.release(copy.sid, hung);
      copy.host = undefined;
      copy.state = copy === this.#solo ? "failed" : "idle";
      // a hung lane blocks every session of the host: give the others a fresh one
      if (hung && host.sessions > 0) host.restart();
      throw err;
    }
  }

  /** What the solo copy's pool threads do between kernels (`TINYUNET_SOLO_SPIN`). */
  soloSpin = engineSettings().soloSpin;
  /** Where the solo copy is loaded: this isolate, an engine host Worker, or nowhere yet. */
  get soloWhere(): "local" | "worker" | undefined {
    const host = this.#solo?.host;
    return host ? (host instanceof LocalHost ? "local" : "worker") : undefined;
  }

  /** Runs served by the solo copy so far (for tests and metadata). */
  soloRuns = 0;

  async run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (this.#released) throw new Error(`${this.engine} session released`);
    const solo = this.#solo;
    if (solo?.state === "idle" && this.#first.host) {
      this.#addCopy(
        solo,
        this.#soloHost() ?? this.#first.host,
        solo.threads,
        this.soloSpin,
        `solo session (${solo.threads} threads)`,
      );
    }
    const lanes = this.#allLanes();
    const soloReady = solo?.state === "ready";
    const alone = soloReady && solo.inflight === 0 && lanes.every((l) => l.inflight === 0) &&
      this.#othersWaiting() === 0 &&
      !(solo.host instanceof LocalHost && solo.host.pending > 0);
    // alone: every core on this run; else the least busy loaded lane, and when all are
    // busy (or, local first, none is loaded yet) one more comes up for the next runs
    let copy: Lane | undefined;
    if (!alone) {
      for (const l of lanes) {
        if (l.state === "ready" && (!copy || l.inflight < copy.inflight)) copy = l;
      }
      if (!copy || copy.inflight > 0) this.#addLane();
    }
    const target = alone ? solo : copy ?? (soloReady ? solo : undefined);
    if (!target?.host) throw new Error(`${this.engine} session has no loaded copy`);
    if (target === solo) this.soloRuns++;
    const host = target.host;
    target.inflight++;
    target.runs = (target.runs ?? 0) + 1;
    clearTimeout(target.idleTimer);
    try {
      return await host.run(target.sid, feeds, this.hangMs, this.engine);
    } catch (err) {
      if (err instanceof EngineHangError && !this.#released) {
        this.notes.push(`a run hung after ${this.hangMs} ms; worker restarted`);
        host.restart();
      }
      throw err;
    } finally {
      target.inflight--;
      this.#idleLater(target);
    }
  }

  /** The first lane and the on-demand ones. */
  #allLanes(): Lane[] {
    return [this.#first, ...this.#extra];
  }

  /**
   * With `laneIdleMs`, a copy that stays without runs that long is released (its host Worker
   * ends with its last session: ~20 MiB and the session's memory back); the next time it is
   * wanted it loads again. Never the copy loaded at start (the first lane, or local first
   * the solo copy): with a native arena of its own that one is renewed instead, with the
   * process's shared arena the arena is shrunk.
   */
  #idleLater(copy: Lane) {
    if (this.#released || this.#laneIdleMs <= 0 || copy.inflight > 0) return;
    if (copy === (this.localFirst ? this.#solo : this.#first)) {
      if (this.backend !== "native") return;
      if (this.#ownArenas()) this.#renewLater(copy);
      else if (nativeArenaShared()) this.#shrinkLater(copy);
      return;
    }
    clearTimeout(copy.idleTimer);
    copy.idleTimer = setTimeout(() => {
      if (copy.inflight > 0 || copy.state !== "ready" || !copy.host) return;
      copy.host.release(copy.sid);
      copy.host = undefined;
      copy.state = "idle";
    }, this.#laneIdleMs);
    Deno.unrefTimer(copy.idleTimer);
  }

  /** Native copies with arenas of their own (not none, nor the process's shared one). */
  #ownArenas(): boolean {
    return sessionArena(engineSettings().nativeArena, nativeArenaShared()) === "own";
  }

  /**
   * With the process's shared arena (`native_arena.ts`), what the runs left in it goes back
   * once the copy kept for the session's life has been `laneIdleMs` without a run, as its own
   * arena did when it was renewed (what runs elsewhere meanwhile keeps its memory).
   */
  #shrinkLater(copy: Lane) {
    clearTimeout(copy.idleTimer);
    copy.idleTimer = setTimeout(() => {
      if (copy.inflight === 0 && !this.#released) shrinkNativeArena();
    }, this.#laneIdleMs);
    Deno.unrefTimer(copy.idleTimer);
  }

  /** Times the copy kept for the session's life was loaded afresh to drop its arena. */
  renewals = 0;

  /**
   * The copy kept for the session's life, native with onnxruntime's arena on: once it has
   * been `laneIdleMs` without a run, a fresh session (empty arena, small warm-up) is loaded
   * into the same host and replaces it, so what its runs' arena held goes back — as an idle
   * lane's Worker does when it ends. If a run was sent to the copy while the fresh one
   * loaded, the fresh one is dropped and the old one kept (renewed after the next idle
   * spell). On this isolate the load holds the event loop (~65 ms for a shipped student:
   * onnxruntime-node creates sessions synchronously), so it waits for a moment with no run
   * pending here. `laneIdleMs` 0 keeps the copy, arena and all; so does
   * `TINYUNET_NATIVE_HOST=0`, whose sessions are not hosted copies.
   */
  #renewLater(copy: Lane) {
    clearTimeout(copy.idleTimer);
    if (copy.renewing) return;
    copy.idleTimer = setTimeout(() => void this.#renew(copy), this.#laneIdleMs);
    Deno.unrefTimer(copy.idleTimer);
  }

  async #renew(copy: Lane) {
    const host = copy.host;
    if (!host || copy.inflight > 0 || copy.state !== "ready" || this.#released) return;
    if (host instanceof LocalHost && host.pending > 0) return this.#renewLater(copy);
    const solo = copy === this.#solo;
    const sid = nextSid++;
    const runsBefore = copy.runs ?? 0;
    copy.renewing = true;
    try {
      await this.#loadCopy(
        host,
        sid,
        solo ? this.#solo!.threads : this.#threads,
        solo ? this.soloSpin : "always",
      );
    } catch (err) {
      const hung = err instanceof EngineHangError;
      host.release(sid, hung);
      if (hung && host.sessions > 0) host.restart();
      const note = `renewing the ${solo ? "solo" : "first"} copy failed (kept the old one)`;
      if (!this.notes.some((n) => n.startsWith(note))) {
        this.notes.push(`${note}: ${(err as Error).message}`);
      }
      copy.renewing = false;
      return; // the next run's idle spell tries again
    }
    copy.renewing = false;
    // a run came, or the copy was released or moved meanwhile: keep the copy that served
    if (
      (copy.runs ?? 0) !== runsBefore || copy.inflight > 0 || copy.host !== host ||
      copy.state !== "ready" || this.#released
    ) {
      host.release(sid);
      this.#idleLater(copy);
      return;
    }
    const old = copy.sid;
    copy.sid = sid;
    host.release(old);
    this.renewals++;
  }

  /**
   * The native solo copy runs on this isolate (no Worker hops for a lone request) unless
   * `soloLocal` is off (`TINYUNET_SOLO_LOCAL=0`, or a test's scripted host); undefined: in
   * the first lane's host.
   */
  #soloHost(): RunHost | undefined {
    if (this.#soloLocal) return (localHost ??= new LocalHost());
  }

  /** Loads this model into `host` as session `sid` and warms it; resolves with its names. */
  async #loadCopy(
    host: RunHost,
    sid: number,
    threads: number,
    spin: SpinMode = "always",
    warmup = this.#warmup,
  ): Promise<Names> {
    const load: LoadMessage = {
      type: "load",
      sid,
      backend: this.backend,
      threads,
      path: this.model.path,
      model: this.model.bytes,
      externalData: this.model.externalData,
      ...(spin === "always" ? {} : { spin }),
      ...hostLoadSettings(this.backend, nativeArenaShared()),
    };
    const names = await host.load({ engine: this.engine, load, warmup });
    if (warmup) await host.run(sid, warmupTensors(warmup), this.hangMs, this.engine);
    return names;
  }

  /** Brings up one more copy (a lane, or the solo copy) in `host`, in the background. */
  #addCopy(copy: Lane, host: RunHost, threads: number, spin: SpinMode, what: string) {
    copy.state = "loading";
    copy.host = host;
    copy.sid = nextSid++;
    this.#loadCopy(host, copy.sid, threads, spin).then(
      () => {
        if (!this.#released) {
          copy.state = "ready";
          this.#idleLater(copy);
        } else host.release(copy.sid); // released meanwhile
      },
      (err) => {
        host.release(copy.sid);
        this.notes.push(`${what} failed to load: ${(err as Error).message}`);
        if (copy === this.#solo || this.#released) {
          copy.state = "failed";
          return;
        }
        // a lane may fail for a reason of the moment (its host restarted for another
        // model's hang): it may load again later
        copy.host = undefined;
        copy.state = "idle";
        copy.retryAt = performance.now() + this.#laneRetryMs;
      },
    );
  }

  /** Loads (and warms) the session in the next idle lane's host, in the background. */
  #addLane() {
    const lanes = this.#allLanes();
    const now = performance.now();
    const lane = lanes.find((l) => l.state === "idle" && (l.retryAt ?? 0) <= now);
    if (!lane) return;
    const index = lanes.indexOf(lane);
    const host = hostFor(this.backend, this.#threads, this.workerUrl, index);
    this.#addCopy(lane, host, this.#threads, "always", `engine lane ${index}`);
  }

  release(): Promise<void> {
    this.#released = true;
    for (const copy of [...(this.#solo ? [this.#solo] : []), ...this.#allLanes()]) {
      clearTimeout(copy.idleTimer);
      if (copy.host && copy.state !== "loading") copy.host.release(copy.sid);
      copy.host = undefined;
      copy.state = "failed";
    }
    return Promise.resolve();
  }
}
