/**
 * The engine host Workers (`host_worker.ts`) and their registry: one Worker per runtime and
 * lane (web runtimes: also per thread count; native: one for every thread count, threads are
 * per session), shared by every session of the process, with its load/run/release protocol,
 * restarts and teardown. `hostFor` (for `host_session.ts`, which builds sessions — lanes, solo
 * copy, hang watchdog — on these hosts), `prestartHost`, `liveHosts` and `collectEngineHosts`
 * are the registry's doors.
 *
 * @module
 */
import {
  EngineHangError,
  type EngineName,
  type Tensor,
  type Warmup,
  warmupTensors,
} from "./engine.ts";
import type { Collected } from "../memory/collect.ts";
import type {
  HostBackend,
  HostMessage,
  HostReply,
  LoadMessage,
  RunMessage,
} from "./host_worker.ts";
import { BufferPool, packedBytes, packFeeds } from "./host_io.ts";
import { engineSettings } from "./settings.ts";

/** The host script; tests substitute a scripted one. */
export const HOST_WORKER_URL = new URL("./host_worker.ts", import.meta.url);
/**
 * A run longer than this counts as hung (unless the caller sets `hangTimeoutMs`).
 * Starting a worker and creating a session (compiling wasm, reading weights) may take
 * long; only runs hang. `TINYUNET_WEB_HANG_TIMEOUT_MS` and `TINYUNET_WEB_LOAD_TIMEOUT_MS`
 * raise them where everything is slow (an emulated CPU: the linux-arm64 test under
 * qemu-user runs wasm 30-50× slower).
 */
export const DEFAULT_HANG_MS = engineSettings().hangTimeoutMs;
const LOAD_TIMEOUT_MS = engineSettings().loadTimeoutMs;
/** How long a native host that lost its last session may take to release it before it ends. */
const CLOSE_WAIT_MS = 5000;

interface Pending<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}
export type Names = { inputNames: string[]; outputNames: string[] };

/** A registered session: what to send to load it again after a restart. */
export interface Registration {
  engine: EngineName;
  load: LoadMessage;
  warmup?: Warmup;
}

/** One Worker holding the sessions of one runtime. */
export class EngineHost {
  #worker!: Worker;
  #runs = new Map<number, Pending<Record<string, Tensor>>>();
  #loads = new Map<number, Pending<Names>>();
  #registered = new Map<number, Registration>();
  #nextId = 0;
  /** collections asked for, answered in order (the Worker handles messages one by one) */
  #collects: Pending<Collected>[] = [];
  /** input buffers that travel to the Worker and back (host_io.ts) */
  #buffers = new BufferPool();
  /** restarts so far (for notes and tests) */
  restarts = 0;

  /**
   * @param backend the runtime this Worker loads
   * @param graceful release the last session in the Worker before ending it (native)
   */
  constructor(
    readonly key: string,
    readonly backend: HostBackend,
    private url: URL,
    private onEmpty: () => void,
    readonly graceful = false,
  ) {
    this.#spawn();
  }

  get sessions(): number {
    return this.#registered.size;
  }

  #spawn() {
    const worker = new Worker(this.url, { type: "module" });
    worker.onmessage = (e: MessageEvent<HostReply>) => {
      const msg = e.data;
      if ((msg.type === "result" || msg.type === "error") && msg.buffer) {
        this.#buffers.give(msg.buffer);
      }
      if (msg.type === "collected") {
        this.#collects.shift()?.resolve({ before: msg.before, after: msg.after });
      } else if (msg.type === "loaded") this.#settle(this.#loads, msg.sid, (p) => p.resolve(msg));
      else if (msg.type === "result") {
        this.#settle(this.#runs, msg.id, (p) => p.resolve(msg.outputs));
      } else if (msg.id !== undefined) {
        this.#settle(this.#runs, msg.id, (p) => p.reject(new Error(msg.message)));
      } else if (msg.sid !== undefined) {
        this.#settle(this.#loads, msg.sid, (p) => p.reject(new Error(msg.message)));
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.#failAll(new Error(`engine host failed: ${e.message}`));
    };
    this.#worker = worker;
  }

  #settle<T>(map: Map<number, Pending<T>>, key: number, fn: (p: Pending<T>) => void) {
    const p = map.get(key);
    if (!p) return;
    map.delete(key);
    fn(p);
  }

  #failAll(err: Error) {
    for (const p of [...this.#runs.values(), ...this.#loads.values(), ...this.#collects]) {
      p.reject(err);
    }
    this.#runs.clear();
    this.#loads.clear();
    this.#collects = [];
  }

  /** Loads a session (kept for replay after restarts) and resolves with its names. */
  load(reg: Registration): Promise<Names> {
    this.#registered.set(reg.load.sid, reg);
    return this.#post(reg.load);
  }

  #post(load: LoadMessage): Promise<Names> {
    return withTimeout(
      new Promise<Names>((resolve, reject) => {
        this.#loads.set(load.sid, { resolve, reject });
        this.#worker.postMessage(load);
      }),
      LOAD_TIMEOUT_MS,
      () => new Error(`${load.backend} engine did not load the model within ${LOAD_TIMEOUT_MS} ms`),
    );
  }

  run(
    sid: number,
    feeds: Record<string, Tensor>,
    timeoutMs: number,
    engine: EngineName,
  ): Promise<Record<string, Tensor>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#runs.delete(id);
        reject(new EngineHangError(engine, timeoutMs));
      }, timeoutMs);
      this.#runs.set(id, {
        resolve: (o) => (clearTimeout(timer), resolve(o)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      // copied into a pooled buffer that is moved to the Worker and back: the caller keeps
      // its own buffers, and the Worker allocates nothing per run
      const packed = packFeeds(feeds, this.#buffers.take(packedBytes(feeds)));
      const message: RunMessage = { type: "run", id, sid, packed };
      this.#worker.postMessage(message, [packed.buffer]);
    });
  }

  /** Loads the runtime before the first session arrives (see {@link prestartHost}). */
  init(backend: HostBackend) {
    const message: HostMessage = { type: "init", backend };
    this.#worker.postMessage(message);
  }

  /**
   * Drops a session; the last one out ends the Worker. A native host first releases the
   * session (`now`: not after a hang): onnxruntime-node's sessions are not freed when a
   * Worker is terminated with them loaded (+4 MiB of RSS each time an idle lane went, 171 →
   * 215 MiB over ten c=8 bursts). A web host's memory is its isolate's, gone with it.
   */
  release(sid: number, now = false) {
    if (!this.#registered.delete(sid)) return;
    const last = this.#registered.size === 0;
    if (!last || (this.graceful && !now)) {
      const message: HostMessage = { type: "release", sid };
      this.#worker.postMessage(message);
    }
    if (!last) return;
    this.onEmpty();
    if (!this.graceful || now) return this.terminate();
    // the collect is answered after the release (the Worker handles messages in order)
    withTimeout(this.collect(), CLOSE_WAIT_MS, () => new Error("no answer"), { unref: true })
      .catch(() => {})
      .finally(() => this.terminate());
  }

  /**
   * Replaces a hung Worker by a fresh one and loads (and warms) every registered session in
   * it again; runs sent meanwhile queue behind those loads in the new Worker.
   */
  restart() {
    this.restarts++;
    this.#failAll(new Error("engine host restarted"));
    this.#worker.terminate();
    this.#spawn();
    for (const reg of this.#registered.values()) {
      this.#post(reg.load).catch(() => {});
      if (reg.warmup) {
        this.run(reg.load.sid, warmupTensors(reg.warmup), LOAD_TIMEOUT_MS, reg.engine).catch(
          () => {},
        );
      }
    }
  }

  /** Has the Worker collect its garbage (after the loads and runs already sent to it). */
  collect(): Promise<Collected> {
    const message: HostMessage = { type: "collect" };
    return withTimeout(
      new Promise<Collected>((resolve, reject) => {
        this.#collects.push({ resolve, reject });
        this.#worker.postMessage(message);
      }),
      LOAD_TIMEOUT_MS,
      () => new Error(`the engine host did not collect within ${LOAD_TIMEOUT_MS} ms`),
    );
  }

  terminate() {
    this.#failAll(new Error("engine host terminated"));
    this.#worker.terminate();
  }
}

const hosts = new Map<string, EngineHost>();

/**
 * Has every engine host Worker collect its garbage (see src/memory/collect.ts); resolves
 * with each one's used heap before and after (a host that fails or is gone is left out).
 */
export async function collectEngineHosts(): Promise<Collected[]> {
  const done = await Promise.allSettled([...hosts.values()].map((h) => h.collect()));
  return done.flatMap((d) => d.status === "fulfilled" ? [d.value] : []);
}

/** The shared host for a runtime, thread count and lane (created on first use). */
export function hostFor(backend: HostBackend, threads: number, url: URL, lane = 0): EngineHost {
  // native threads are per session, so one native host serves every thread count
  const key = `${backend}:${backend === "native" ? "*" : threads}:${url.href}${
    lane ? `#lane${lane}` : ""
  }`;
  let host = hosts.get(key);
  if (!host) {
    host = new EngineHost(key, backend, url, () => hosts.delete(key), backend === "native");
    hosts.set(key, host);
  }
  return host;
}

/**
 * Starts the shared host of a runtime now and has it load the runtime, so that its start-up
 * (an isolate, and onnxruntime-node: ~130-260 ms here) overlaps the server's own instead of
 * following it. Only call it for a runtime already known to load (native: after its probe).
 */
export function prestartHost(backend: HostBackend, threads = 1, unusedMs = 60_000): void {
  const host = hostFor(backend, threads, HOST_WORKER_URL);
  host.init(backend);
  // a host no session came to (every card chose another engine) does not stay
  const timer = setTimeout(() => {
    if (host.sessions === 0 && hosts.get(host.key) === host) {
      host.terminate();
      hosts.delete(host.key);
    }
  }, unusedMs);
  Deno.unrefTimer(timer);
}

/** Workers alive now, by key and runtime (for tests and memory reports). */
export function liveHosts(): { key: string; backend: HostBackend; sessions: number }[] {
  return [...hosts.values()].map((h) => ({ key: h.key, backend: h.backend, sessions: h.sessions }));
}

/** `promise`, or `onTimeout()`'s error after `ms` (`unref`: the timer keeps no process alive). */
function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  { unref = false } = {},
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
      if (unref) Deno.unrefTimer(timer);
    }),
  ]).finally(() => clearTimeout(timer));
}
