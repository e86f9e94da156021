/**
 * Start-up, shared by `main.ts` (`deno task serve`) and `serve.ts` (`deno serve`): settings
 * from the environment (a bad value stops the process, naming it), the authentication
 * decision for the address bound, the app with its model repository loading in the
 * background, and the repository watcher once every model is warm.
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { loadConfig, type ServerConfig } from "./config.ts";
import { DicomNode } from "./dicom_node/node.ts";
import type { LoadOptions } from "./models/model_version.ts";
import { ModelRegistry } from "./models/registry.ts";
import { RunGate } from "./models/queue.ts";
import { type RepositoryWatcher, watchRepository } from "./models/watcher.ts";
import { buildApp } from "./server/app.ts";
import type { AppEnv } from "./server/env.ts";
import { log } from "./server/log.ts";
import { exitProcess } from "./process_exit.ts";
import { SERVER_INFO } from "./server/server_info.ts";
import { authPolicy } from "./server/middleware/api_key_auth/policy.ts";
import { INSTANCE_ID } from "./server/middleware/instance_id/index.ts";
import { MemoryKeeper } from "./memory/keeper.ts";
import { onNativeArenaOutcome, shrinkNativeArena } from "./engines/native_arena.ts";
import type { Collected } from "./memory/collect.ts";
import { collectEngineHosts } from "./engines/engine_host.ts";
import { selectEngine } from "./engines/select.ts";
import { StagePool } from "./serving/pool.ts";
import { SegmentPipeline } from "./serving/pipeline.ts";

/** A running app: the Hono app, its registry, and a promise that settles once every model is warm. */
export interface TinyUnetServer {
  app: OpenAPIHono<AppEnv>;
  registry: ModelRegistry;
  config: ServerConfig;
  /** resolves once every version has been tried (a failed one is in the repository index
   * and the log); rejects when none loaded */
  ready: Promise<void>;
  /** the DICOM node behind `/dicomweb/…` and the DIMSE listener (see src/dicom_node/) */
  dicomNode: DicomNode;
  /** the segment pipeline (and its stage workers) shared by `/v1` and the DICOM node */
  pipeline: SegmentPipeline;
}

/** A started server: also watches its repository once ready, and closes cleanly. */
export interface StartedServer extends TinyUnetServer {
  /** stops the watcher (or keeps it from starting) and releases every engine session */
  close(): Promise<void>;
}

/** How the registry loads versions, from the settings. */
export function loadOptions(config: ServerConfig): LoadOptions {
  return {
    engine: config.engine,
    threads: config.threads,
    soloThreads: config.soloThreads,
    tilePixels: config.tilePixels,
    runGate: config.maxRuns > 0 ? new RunGate(config.maxRuns) : undefined,
    maxQueue: config.maxQueue,
    laneIdleMs: config.laneIdleMs,
    batch: { maxBatch: config.maxBatch, maxDelayMs: config.batchDelayMs },
  };
}

/**
 * Builds the HTTP app and starts loading the model repository in the background.
 * Health is live at once; `/v2/health/ready` turns 200 when every model is warm (or, with
 * `TINYUNET_READY=default-model`, the default one); a model that fails to load is logged
 * and listed in the repository index while the others serve.
 */
export function createApp(config: ServerConfig = loadConfig()): TinyUnetServer {
  const registry = new ModelRegistry(config.modelsDir, loadOptions(config));
  const pool = new StagePool(config.workers ?? 0, config.workerIdleMs ?? 0);
  const pipeline = new SegmentPipeline(registry, pool, config);
  const dicomNode = new DicomNode(config.dicomNode, {
    pipeline,
    softwareVersion: SERVER_INFO.version,
    concurrency: Math.max(1, Math.floor(config.maxQueue / 2)),
  });
  const app = buildApp({ registry, config, pipeline, dicomNode });
  const ready = registry.loadAll(
    config.defaultModel,
    (mv) => {
      void mv.runtime().then((rt) =>
        log("info", "model loaded", { model: mv.name, version: mv.version, runtime: rt })
      );
    },
    (failure) =>
      log("error", "model failed to load", {
        model: failure.name,
        version: failure.version,
        error: failure.reason,
      }),
  );
  return { app, registry, config, ready, dicomNode, pipeline };
}

/** Settings from the environment; a bad value is logged and the process exits 1. */
export async function configOrExit(): Promise<ServerConfig> {
  try {
    return loadConfig();
  } catch (err) {
    log("error", "cannot start", { error: (err as Error).message });
    return await exitProcess(1);
  }
}

/** Exits 1 (after logging why) when `TINYUNET_AUTH=required` and no keys are set. */
export async function checkAuthOrExit(config: ServerConfig): Promise<void> {
  try {
    authPolicy(config);
  } catch (err) {
    log("error", "cannot start", { error: (err as Error).message });
    await exitProcess(1);
  }
}

/**
 * Warns when the API is open on a non-loopback address (`host`: the one bound); call after
 * {@link checkAuthOrExit}, whose refusal does not depend on the address.
 */
export function warnIfOpen(config: ServerConfig, host = config.hostname): void {
  const { warning } = authPolicy(config, host);
  if (warning) log("warn", warning);
}

/**
 * Creates the app and, once every model is warm, logs "ready" and watches the repository
 * (`TINYUNET_WATCH`). A repository where no model loads is logged and the process exits 1.
 */
export function startServer(config: ServerConfig): StartedServer {
  const started = performance.now();
  // choose the engine now: a native host Worker then starts (and loads onnxruntime-node)
  // while the app is built and the repository read, rather than after
  void selectEngine(config.engine).then(async (s) => {
    if (s.engine.name === "native") {
      (await import("./engines/onnx_native.ts")).prestartNativeHost(
        (config.threads ?? 1) === 1 ? config.soloThreads : 1,
      );
    }
  }, () => {/* the first model's load reports it */});
  onNativeArenaOutcome((arena) =>
    arena.shared
      ? log("info", "native sessions share one arena")
      : log("warn", "native sessions keep arenas of their own", { reason: arena.reason })
  );
  const server = createApp(config);
  let watcher: RepositoryWatcher | undefined;
  let closed = false;
  let memory: MemoryKeeper | undefined;
  server.ready.then(
    () => {
      // what loading left (module graphs, model bytes, warm-up tensors) goes soon, in every
      // isolate, not when V8's memory reducer gets to it (~30 s later); the keeper trims it.
      // Engine hosts collect on their own threads now; this isolate's full GC (~45 ms here)
      // would hold the first requests, so the keeper runs it after a quiet idleGcMs.
      const mib = (c: Collected) => Math.round((c.before - c.after) / 2 ** 20);
      if (config.idleGcMs > 0) {
        void collectEngineHosts().then((hosts) => {
          if (hosts.length) {
            log("info", "start-up garbage collected", {
              isolates: "engine hosts",
              mib: hosts.map(mib),
            });
          }
        });
      }
      // once ready: start-up allocates many large blocks that glibc's sliding threshold
      // serves faster (a fixed one from the start measured ~+100-200 ms to ready)
      memory = closed ? undefined : new MemoryKeeper({
        intervalMs: config.mallocTrimMs,
        busySlackMiB: config.trimBusySlackMiB,
        busyIntervalMs: config.trimBusyIntervalMs,
        mmapThresholdBytes: config.mmapThresholdBytes,
        idleGcMs: config.idleGcMs,
        // what runs at once left in the native engine's shared arena goes back with the trim;
        // runs one after another keep their one run's regions: the next lone request would
        // fault them in afresh (requests 3 s apart: 43-63 ms against 26-39 when shrunk always)
        onQuiet: ({ overlapped }) => void (overlapped && shrinkNativeArena()),
        onStartCollected: (c) =>
          log("info", "start-up garbage collected", { isolates: "http", mib: [mib(c)] }),
      });
      log("info", "ready", {
        models: server.registry.names(),
        default_model: server.registry.defaultModel,
        instance: INSTANCE_ID,
        ms: Math.round(performance.now() - started),
        allocator: !memory || memory.state.available
          ? { mmap_threshold: memory?.state.mmapThresholdBytes, trim_ms: config.mallocTrimMs }
          : `not tuned: ${memory.state.reason}`,
      });
      if (config.watch === "off" || closed) return;
      watcher = watchRepository(server.registry, {
        mode: config.watch,
        intervalMs: config.watchIntervalMs,
        debounceMs: Math.max(50, Math.round(config.watchIntervalMs / 4)),
        onSync: (results) => {
          const changed = results.filter((r) => r.action !== "unchanged");
          const failed = changed.some((r) => r.action === "failed");
          log(failed ? "error" : "info", "model repository changed", {
            instance: INSTANCE_ID,
            results: changed,
          });
        },
        onError: (err) => log("error", "model repository rescan failed", { error: err.message }),
      });
    },
    (err) => {
      log("error", "model repository failed to load", { error: (err as Error).message });
      void exitProcess(1);
    },
  );
  return {
    ...server,
    async close() {
      closed = true;
      memory?.stop();
      await watcher?.close();
      await server.registry.close();
      server.pipeline.pool.close();
    },
  };
}
