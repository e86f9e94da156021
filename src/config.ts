/**
 * Server settings from the environment, checked and normalised in one place.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `PORT` | 8000 | HTTP port |
 * | `TINYUNET_HOST` | 0.0.0.0 | interface to listen on |
 * | `TINYUNET_MODELS` | `models/` of this checkout | model repository |
 * | `TINYUNET_DEFAULT_MODEL` | the repository's `repository.json` `default_model`, else the first by name | model behind `/v1/segment` |
 * | `TINYUNET_ENGINE` | auto | auto, native, wasm, webgpu, tfjs-wasm |
 * | `TINYUNET_THREADS` | engine default | intra-op threads per session |
 * | `TINYUNET_SOLO_THREADS` | cores (≤ 4) | threads of a lone run of a one-thread model (native: onnxruntime's solo copy; the direct kernels may take two for a run alone, where that is faster, `direct/kernels.ts`; 1: off) |
 * | `TINYUNET_MAX_BODY_MB` | 32 | request body limit (413 above) |
 * | `TINYUNET_MAX_PIXELS` | 16777216 | decoded image limit (413 above) |
 * | `TINYUNET_TILE_PIXELS` | 262144 | a V2 input larger than this runs as overlapping tiles of at most this size (src/engines/tiles.ts); 0 = never |
 * | `TINYUNET_MAX_RUNS` | 0 (no cap) | engine runs in flight at once over all models (src/models/queue.ts RunGate) |
 * | `TINYUNET_MAX_QUEUE` | 8 | waiting runs per model before 503 |
 * | `TINYUNET_MAX_BATCH` | 1 (off) | dynamic batching: most same-shape requests per engine run |
 * | `TINYUNET_BATCH_DELAY_MS` | 2 | longest a request waits for a batch to fill |
 * | `TINYUNET_REQUEST_TIMEOUT_MS` | 30000 | per-request deadline (504) |
 * | `TINYUNET_API_KEYS` | none | comma list of keys for inference and reads (`infer` scope) |
 * | `TINYUNET_ADMIN_KEYS` | none | comma list of keys that may also load/unload models (`admin` scope) |
 * | `TINYUNET_AUTH` | auto | auto: keys required when any are set; required: refuse to start without keys; off: no auth |
 * | `TINYUNET_METRICS_PUBLIC` | 1 | 0: `/metrics` needs a key like the API |
 * | `TINYUNET_CORS_ORIGINS` | none | comma list of allowed browser origins, or `*` |
 * | `TINYUNET_WATCH` | fs | hot reload of the repository: fs (file events), poll, off |
 * | `TINYUNET_WATCH_INTERVAL_MS` | 2000 | poll interval (poll mode) / debounce ×4 (fs mode) |
 * | `TINYUNET_SHUTDOWN_TIMEOUT_MS` | 25000 | longest wait for in-flight requests on SIGTERM |
 * | `TINYUNET_READY` | all | `/v2/health/ready`: all (every model in the repository loaded, Triton's strict readiness) or default-model |
 * | `TINYUNET_SHUTDOWN_DELAY_MS` | 0 | after draining, keep answering 503 this long before closing |
 * | `TINYUNET_WORKERS` | cores (≤ 4) | decode/encode worker pool; 0 = on the HTTP thread |
 * | `TINYUNET_WORKER_IDLE_MS` | 30000 | a pool worker starts on first need and exits after this long idle; 0 = all start with the server and stay |
 * | `TINYUNET_LANE_IDLE_MS` | 15000 | an engine lane (a session copy in its own host Worker; with `TINYUNET_LOCAL_FIRST=0` the lanes past the first) is released after this long without a run, and the native arena is shrunk (with arenas per session: the copy kept for the model's life is loaded afresh); 0 = kept |
 * | `TINYUNET_MALLOC_TRIM_MS` | 2000 | give the allocator's freed memory back to the system at most this often, except right after a quiet spell's collection (src/memory/); 0 = never |
 * | `TINYUNET_TRIM_BUSY_INTERVAL_MS` | 10000 | while models run, the shortest time between two trims (each page a trim hands back under load is faulted in again); quiet trims keep `TINYUNET_MALLOC_TRIM_MS`, and it is never shorter; 0 = `TINYUNET_MALLOC_TRIM_MS` |
 * | `TINYUNET_TRIM_BUSY_SLACK_MIB` | 0 | while models run, trim only when this many MiB more were freed (fewer pages faulted in again); 0 = the idle rule |
 * | `TINYUNET_IDLE_GC_MS` | 1000 | once ready (the HTTP isolate once then quiet this long), and once idle this long after work, each isolate collects its garbage (src/memory/collect.ts); 0 = leave it to V8 |
 * | `TINYUNET_MMAP_THRESHOLD_KB` | 32768 | once ready, allocations from this size are mapped on their own and returned when freed; 0 = glibc's sliding default |
 * | `TINYUNET_BUSY_DELAY_MS` | 1000 | a `queue_full` refusal is held this long (caps the refusal rate) |
 * | `TINYUNET_CONNECTION_FRONT` | 1 | 1: the TCP front enforces the next three; 0: plain Deno.serve |
 * | `TINYUNET_MAX_CONNECTIONS` | 4096 | open client connections (lowered to (fd limit − 64) ÷ 3); more get 503 and are closed |
 * | `TINYUNET_HEADER_TIMEOUT_MS` | 10000 | a request head must arrive within this |
 * | `TINYUNET_IDLE_TIMEOUT_MS` | 30000 | an idle keep-alive connection is closed after this |
 * | `TINYUNET_DIMSE_*`, `TINYUNET_DICOMWEB_DESTINATION`, `TINYUNET_OUTBOX*`, `TINYUNET_SEG_RETENTION` | | the DICOM node: see src/dicom_node/config.ts |
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { int, oneOf, parseVariables, variable } from "./env_vars.ts";
import { parseEngineSettings } from "./engines/settings.ts";
import { IDLE_GC_ENV } from "./memory/idle_gc_setting.ts";
import { type DicomNodeConfig, loadDicomNodeConfig } from "./dicom_node/config.ts";
import { type EngineChoice, parseEngineChoice } from "./engines/select.ts";
import { DEFAULT_DECODE_LIMITS } from "./imaging/image.ts";
import type { ReadinessMode } from "./models/registry.ts";
import { defaultWorkers } from "./serving/pool.ts";

// zod compiles an object schema to JavaScript (new Function) on its first parse, which pays
// off only for schemas parsed many times: the server parses its settings, cards and routes'
// inputs a handful of times at start: interpreted, the settings and the first card take 8 ms
// instead of 18 (probe), and a request's query takes 0.37 µs instead of 0.22. zod's config is
// process-wide: an application embedding the server (mod.ts) parses interpreted too.
z.config({ jitless: true });

/** What an API key may do: `infer` (inference and reads) or `admin` (also load/unload models). */
export type KeyScope = "infer" | "admin";
/** One configured API key. */
export interface ApiKey {
  key: string;
  scope: KeyScope;
}
/** auto: keys required when configured; required: refuse to start without keys; off: never. */
export type AuthMode = "auto" | "required" | "off";
/** How the model repository is watched for new versions. */
export type WatchMode = "fs" | "poll" | "off";

/** Shortest key accepted (a guessable key is no protection). */
export const MIN_KEY_LENGTH = 16;

/** Validated server settings: every field set (the defaults are filled in by {@link loadConfig}). */
export interface ServerConfig {
  port: number;
  hostname: string;
  modelsDir: string;
  /** unset: the repository's `repository.json` `default_model`, else the first by name */
  defaultModel: string | undefined;
  engine: EngineChoice;
  /** unset: 1 for models under 1 M parameters, else all cores */
  threads: number | undefined;
  /** threads of a lone run of a one-thread model (native; ≤ 1: off) */
  soloThreads: number;
  maxBodyBytes: number;
  maxPixels: number;
  /** inputs over this many pixels run as overlapping tiles of at most this size (0: never) */
  tilePixels: number;
  /** engine runs in flight at once over all models (0: no cap) */
  maxRuns: number;
  maxQueue: number;
  /** dynamic batching (src/models/batcher.ts): most same-shape requests per engine run (1: off) */
  maxBatch: number;
  /** longest a request waits for its batch to fill */
  batchDelayMs: number;
  requestTimeoutMs: number;
  /** API keys; none = open (see {@link AuthMode}) */
  apiKeys: ApiKey[];
  auth: AuthMode;
  /** `/metrics` without a key */
  metricsPublic: boolean;
  /** browser origins allowed by CORS (`*` for any); none = no CORS headers */
  corsOrigins: string[];
  /** repository hot reload, started by the start-up (src/start.ts) once ready */
  watch: WatchMode;
  watchIntervalMs: number;
  /** longest wait for in-flight requests on SIGTERM */
  shutdownTimeoutMs: number;
  /** when `/v2/health/ready` is 200: every model loaded (`all`, Triton's strict readiness), or the default model */
  ready: ReadinessMode;
  /** after draining on SIGTERM, keep answering 503 this long (load balancers catch up) */
  shutdownDelayMs: number;
  /** serving worker pool size (0: stages run on the HTTP thread) */
  workers: number;
  /** a pool worker exits after this long idle (0: all start with the server and stay) */
  workerIdleMs: number;
  /** an engine lane past the first is released after this long without a run (0: kept) */
  laneIdleMs: number;
  /** allocator trims at most this often, but for a quiet spell's collection (src/memory/keeper.ts; 0: never) */
  mallocTrimMs: number;
  /** while models run, trim only past this much more freed memory (MiB); 0: the idle rule */
  trimBusySlackMiB: number;
  /** while models run, the shortest time between two trims (ms) */
  trimBusyIntervalMs: number;
  /** each isolate collects its garbage once ready and this long after its last work (0: V8 alone) */
  idleGcMs: number;
  /** fixed allocator mmap threshold in bytes (0: glibc's sliding default) */
  mmapThresholdBytes: number;
  /** hold a `queue_full` refusal this long (src/serving/admission.ts) */
  busyDelayMs: number;
  /** the TCP front (src/server/connections/front.ts): limits and timeouts of client connections */
  connectionFront: boolean;
  maxConnections: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** DIMSE listener, routes, destinations and outbox (default: no listener, no destination) */
  dicomNode: DicomNodeConfig;
}

/** The shipped model repository (`models/` beside `src/`). */
export const SHIPPED_MODELS_DIR = fileURLToPath(new URL("../models", import.meta.url));

/** A comma list. */
const list = variable.transform((raw) =>
  (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean)
);

/** A comma list of API keys of one scope. */
const keys = (scope: KeyScope) =>
  list.transform((all, ctx): ApiKey[] => {
    for (const k of all) {
      if (k.length < MIN_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(k)) {
        ctx.addIssue({
          code: "custom",
          message:
            `every key needs ≥ ${MIN_KEY_LENGTH} printable characters without spaces (one is ${k.length} long)`,
        });
        return z.NEVER;
      }
    }
    return all.map((key) => ({ key, scope }));
  });

/** The environment variables the server reads, each with its default (the table above). */
const ServerEnv = z.object({
  PORT: int(8000, 0),
  TINYUNET_HOST: variable.transform((v) => v ?? "0.0.0.0"),
  TINYUNET_MODELS: variable.transform((v) => v ?? SHIPPED_MODELS_DIR),
  TINYUNET_DEFAULT_MODEL: variable,
  TINYUNET_ENGINE: variable.transform((v, ctx): EngineChoice => {
    try {
      return parseEngineChoice(v);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  }),
  TINYUNET_THREADS: int(undefined),
  TINYUNET_SOLO_THREADS: int(Math.min(navigator.hardwareConcurrency || 1, 4)),
  TINYUNET_MAX_BODY_MB: int(32),
  TINYUNET_MAX_PIXELS: int(DEFAULT_DECODE_LIMITS.maxPixels),
  TINYUNET_TILE_PIXELS: int(512 * 512, 0),
  TINYUNET_MAX_RUNS: int(0, 0),
  TINYUNET_MAX_QUEUE: int(8, 0),
  TINYUNET_MAX_BATCH: int(1),
  TINYUNET_BATCH_DELAY_MS: int(2, 0),
  TINYUNET_REQUEST_TIMEOUT_MS: int(30_000),
  TINYUNET_API_KEYS: keys("infer"),
  TINYUNET_ADMIN_KEYS: keys("admin"),
  TINYUNET_AUTH: oneOf(["auto", "required", "off"], "auto"),
  TINYUNET_METRICS_PUBLIC: oneOf(["1", "0", "true", "false"], "1"),
  TINYUNET_CORS_ORIGINS: list,
  TINYUNET_WATCH: oneOf(["fs", "poll", "off"], "fs"),
  TINYUNET_WATCH_INTERVAL_MS: int(2000, 50),
  TINYUNET_SHUTDOWN_TIMEOUT_MS: int(25_000),
  TINYUNET_READY: oneOf(["all", "default-model"], "all"),
  TINYUNET_SHUTDOWN_DELAY_MS: int(0, 0),
  TINYUNET_WORKERS: int(defaultWorkers(), 0),
  TINYUNET_WORKER_IDLE_MS: int(30_000, 0),
  TINYUNET_LANE_IDLE_MS: int(15_000, 0),
  TINYUNET_MALLOC_TRIM_MS: int(2000, 0),
  TINYUNET_TRIM_BUSY_SLACK_MIB: int(0, 0),
  TINYUNET_TRIM_BUSY_INTERVAL_MS: int(10_000, 0),
  ...IDLE_GC_ENV,
  // glibc accepts 0 < threshold ≤ 32 MiB
  TINYUNET_MMAP_THRESHOLD_KB: int(32 * 1024, 0).refine((v) => v <= 32 * 1024, "at most 32768"),
  TINYUNET_BUSY_DELAY_MS: int(1000, 0),
  TINYUNET_CONNECTION_FRONT: oneOf(["1", "0"], "1"),
  TINYUNET_MAX_CONNECTIONS: int(4096),
  TINYUNET_HEADER_TIMEOUT_MS: int(10_000),
  TINYUNET_IDLE_TIMEOUT_MS: int(30_000),
}).transform((e): Omit<ServerConfig, "dicomNode"> => ({
  port: e.PORT,
  hostname: e.TINYUNET_HOST,
  modelsDir: e.TINYUNET_MODELS,
  defaultModel: e.TINYUNET_DEFAULT_MODEL,
  engine: e.TINYUNET_ENGINE,
  threads: e.TINYUNET_THREADS,
  soloThreads: e.TINYUNET_SOLO_THREADS,
  maxBodyBytes: Math.round(e.TINYUNET_MAX_BODY_MB * 1024 * 1024),
  maxPixels: e.TINYUNET_MAX_PIXELS,
  tilePixels: e.TINYUNET_TILE_PIXELS,
  maxRuns: e.TINYUNET_MAX_RUNS,
  maxQueue: e.TINYUNET_MAX_QUEUE,
  maxBatch: e.TINYUNET_MAX_BATCH,
  batchDelayMs: e.TINYUNET_BATCH_DELAY_MS,
  requestTimeoutMs: e.TINYUNET_REQUEST_TIMEOUT_MS,
  apiKeys: [...e.TINYUNET_API_KEYS, ...e.TINYUNET_ADMIN_KEYS],
  auth: e.TINYUNET_AUTH,
  metricsPublic: e.TINYUNET_METRICS_PUBLIC === "1" || e.TINYUNET_METRICS_PUBLIC === "true",
  corsOrigins: e.TINYUNET_CORS_ORIGINS,
  watch: e.TINYUNET_WATCH,
  watchIntervalMs: e.TINYUNET_WATCH_INTERVAL_MS,
  shutdownTimeoutMs: e.TINYUNET_SHUTDOWN_TIMEOUT_MS,
  ready: e.TINYUNET_READY,
  shutdownDelayMs: e.TINYUNET_SHUTDOWN_DELAY_MS,
  workers: e.TINYUNET_WORKERS,
  workerIdleMs: e.TINYUNET_WORKER_IDLE_MS,
  laneIdleMs: e.TINYUNET_LANE_IDLE_MS,
  mallocTrimMs: e.TINYUNET_MALLOC_TRIM_MS,
  trimBusySlackMiB: e.TINYUNET_TRIM_BUSY_SLACK_MIB,
  trimBusyIntervalMs: e.TINYUNET_TRIM_BUSY_INTERVAL_MS,
  idleGcMs: e.TINYUNET_IDLE_GC_MS,
  mmapThresholdBytes: e.TINYUNET_MMAP_THRESHOLD_KB * 1024,
  busyDelayMs: e.TINYUNET_BUSY_DELAY_MS,
  connectionFront: e.TINYUNET_CONNECTION_FRONT === "1",
  maxConnections: e.TINYUNET_MAX_CONNECTIONS,
  headerTimeoutMs: e.TINYUNET_HEADER_TIMEOUT_MS,
  idleTimeoutMs: e.TINYUNET_IDLE_TIMEOUT_MS,
}));

/**
 * Reads settings from an environment map; the defaults are written once, in `ServerEnv`.
 * @throws {Error} naming the variable when a value is invalid
 */
export function loadConfig(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): ServerConfig {
  const server = parseVariables(ServerEnv, env);
  // the engines read their own settings in every isolate that creates sessions (engine host
  // Workers are given theirs; src/engines/settings.ts): check them now
  parseEngineSettings(env);
  // the DICOM node's settings have their own parser (src/dicom_node/config.ts)
  return { ...server, dicomNode: loadDicomNodeConfig(env) };
}
