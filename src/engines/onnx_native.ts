/**
 * The `native` engine: the direct kernels (`direct/`) for the plain U-Nets they cover
 * (`TINYUNET_NATIVE_KERNELS`), onnxruntime-node's CPU execution provider for every other
 * model. Fastest where the host allows native code (onnxruntime-node: 4-6× onnxruntime-web
 * here; the direct kernels 2.5-3× onnxruntime-node on the students).
 *
 * onnxruntime-node computes a run on the calling isolate's thread: its `run` defers the
 * binding's synchronous run with `setImmediate` (onnxruntime-node 1.30 `dist/backend.js`), so
 * the event loop waits for the whole run (measured: one timer tick per run, the longest gap =
 * the run). So by default native sessions live in engine host Workers (`engine_host.ts`),
 * which give a model its lanes (copies that run at once, one thread each) and keep the HTTP
 * thread free; only the solo copy that serves a lone request runs on the HTTP isolate
 * (`local_host.ts`). `TINYUNET_NATIVE_HOST=0` runs every session on the event loop instead (as
 * before; kept for comparison in `deno task bench`).
 *
 * @module
 */
import { HostedSession } from "./host_session.ts";
import { prestartHost } from "./engine_host.ts";
import { nativeProbe } from "./native_probe/once.ts";
import { loadNativeRunner, type Runner } from "./native_runner.ts";
import { DirectRunner, directRunner } from "./direct/runner.ts";
import { DirectSession } from "./direct/session.ts";
import { nativeKernels } from "./direct/kernels.ts";
import { otherEngineRun } from "./direct/split.ts";
import { defaultLanes, engineSettings, sessionArena } from "./settings.ts";
import { nativeArenaShared, shareNativeArena } from "./native_arena.ts";
import {
  type Engine,
  type EngineProbe,
  type EngineSession,
  type ModelSource,
  type SessionOptions,
  type Tensor,
  warmupTensors,
} from "./engine.ts";

type Ort = typeof import("onnxruntime-node");
let ortPromise: Promise<Ort> | undefined;

/** Loads onnxruntime-node once; rejects where the native binding cannot load. */
function loadOrt(): Promise<Ort> {
  ortPromise ??= import("onnxruntime-node");
  return ortPromise;
}

/** Whether native sessions run in the shared engine host (default) or on the event loop. */
export function nativeInHost(): boolean {
  return engineSettings().nativeInHost;
}

/**
 * Starts the native engine host ahead of the first session (see `prestartHost`): called by
 * the start-up once the engine is chosen, so the Worker and onnxruntime-node load while the
 * app is built and the repository read. Nothing when native sessions run on the event loop,
 * nor when one-thread models load local first (`soloThreads` > 1 with the solo copy on this
 * isolate, see `HostedSession`): their lanes come up only under load.
 */
export function prestartNativeHost(soloThreads: number): void {
  if (!nativeInHost()) return;
  if (soloThreads > 1 && engineSettings().localFirst) return;
  prestartHost("native");
}

function defaultThreads(): number {
  return Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, 8));
}

/** A session on the event loop (`TINYUNET_NATIVE_HOST=0`). */
class NativeSession implements EngineSession {
  readonly engine = "native" as const;
  readonly notes: string[] = [];
  constructor(private runner: Runner, readonly threads: number) {}
  get inputNames() {
    return this.runner.inputNames;
  }
  get outputNames() {
    return this.runner.outputNames;
  }
  async run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    return (await this.runner.run(feeds)).outputs;
  }
  release() {
    return this.runner.release();
  }
}

/** onnxruntime-node, CPU execution provider. */
export const nativeEngine: Engine = {
  name: "native",
  async probe(): Promise<EngineProbe> {
    // Sessions in host Workers (or local first, the solo copies on this isolate): when the
    // child probe has loaded the add-on and run it, it is loaded here only with a session.
    if (nativeInHost()) {
      const checked = await nativeProbe();
      if (checked?.ok) {
        return {
          available: true,
          reason:
            "the direct kernels for the models they cover (each model's notes say), else onnxruntime-node, loaded with the first such session",
        };
      }
    }
    try {
      const ort = await loadOrt();
      return { available: true, reason: `onnxruntime-node ${ort.env.versions?.node ?? ""} loaded` };
    } catch (err) {
      return {
        available: false,
        reason: `onnxruntime-node cannot load: ${(err as Error).message}`,
      };
    }
  },
  async createSession(model: ModelSource, options: SessionOptions = {}): Promise<EngineSession> {
    // a model the direct kernels cover runs on them, on this isolate (off its event loop
    // unless every native session is to run on it), and loads no onnxruntime at all
    const kernels = options.kernels ?? engineSettings().nativeKernels;
    // a run alone takes two threads where there are two cores and the session may use two,
    // in every run (threads) or in a lone one (soloThreads, TINYUNET_SOLO_THREADS)
    const split = nativeInHost() && (navigator.hardwareConcurrency ?? 1) >= 2 &&
      Math.max(options.threads ?? defaultThreads(), options.soloThreads ?? 1) >= 2;
    const direct = kernels === "direct"
      ? await directRunner(
        model.bytes,
        model.externalData,
        () => nativeKernels({ offThread: nativeInHost(), split }),
      )
      : { reason: "" };
    if (direct instanceof DirectRunner) {
      const lanes = nativeInHost() ? options.lanes ?? defaultLanes(1) : 1;
      return await DirectSession.open(
        direct,
        { engine: "native", lanes, offThread: nativeInHost(), split },
        options.warmup,
      );
    }
    const note = kernels === "direct" ? `onnxruntime (${direct.reason})` : "onnxruntime";
    // onnxruntime's pool threads compete with a split run's two: its load and runs count as
    // runs that overlap (split.ts)
    const loaded = otherEngineRun();
    try {
      return countedAsOtherRuns(await onnxruntimeSession(model, options, note));
    } finally {
      loaded();
    }
  },
};

/** A session on onnxruntime-node (in an engine host Worker unless every session is to run here). */
async function onnxruntimeSession(
  model: ModelSource,
  options: SessionOptions,
  note: string,
): Promise<EngineSession> {
  // before the first onnxruntime session: the sessions made after it use the process's one arena
  if (engineSettings().nativeArena === "shared") await shareNativeArena();
  const threads = options.threads ?? defaultThreads();
  let session: EngineSession & { notes: string[] };
  if (nativeInHost()) {
    session = await HostedSession.create(
      "native",
      "native",
      model,
      { ...options, threads, lanes: options.lanes ?? defaultLanes(threads) },
      threads,
      { retries: 0 },
    );
  } else {
    const runner = await loadNativeRunner({
      threads,
      path: model.path,
      model: model.bytes,
      externalData: model.externalData,
      arena: sessionArena(engineSettings().nativeArena, nativeArenaShared()),
    });
    session = new NativeSession(runner, threads);
    if (options.warmup) await session.run(warmupTensors(options.warmup));
  }
  session.notes.push(note);
  return session;
}

/** The session with each run counted as another engine's run by the split-run policy. */
function countedAsOtherRuns(session: EngineSession): EngineSession {
  const run = session.run.bind(session);
  session.run = async (feeds) => {
    const ended = otherEngineRun();
    try {
      return await run(feeds);
    } finally {
      ended();
    }
  };
  return session;
}
