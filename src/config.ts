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
 * | `TINYUNET_MAX_BODY_MB` | 32 | request body limit (413 above) |
 * | `TINYUNET_MAX_PIXELS` | 16777216 | decoded image limit (413 above) |
 * | `TINYUNET_MAX_QUEUE` | 32 | waiting runs per model before 503 |
 * | `TINYUNET_REQUEST_TIMEOUT_MS` | 30000 | per-request deadline (504) |
 * | `TINYUNET_API_KEYS` | none | comma list of keys for inference and reads (`infer` scope) |
 * | `TINYUNET_ADMIN_KEYS` | none | comma list of keys that may also load/unload models (`admin` scope) |
 * | `TINYUNET_AUTH` | auto | auto: keys required when any are set; required: refuse to start without keys; off: no auth |
 * | `TINYUNET_METRICS_PUBLIC` | 1 | 0: `/metrics` needs a key like the API |
 * | `TINYUNET_CORS_ORIGINS` | none | comma list of allowed browser origins, or `*` |
 * | `TINYUNET_WATCH` | fs | hot reload of the repository: fs (file events), poll, off |
 * | `TINYUNET_WATCH_INTERVAL_MS` | 2000 | poll interval (poll mode) / debounce ×4 (fs mode) |
 * | `TINYUNET_SHUTDOWN_TIMEOUT_MS` | 25000 | longest wait for in-flight requests on SIGTERM |
 * | `TINYUNET_DIMSE_*`, `TINYUNET_DICOMWEB_DESTINATION`, `TINYUNET_OUTBOX*`, `TINYUNET_SEG_RETENTION` | | the DICOM node: see src/dicom_node/config.ts |
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { type DicomNodeConfig, loadDicomNodeConfig } from "./dicom_node/config.ts";
import { type EngineChoice, parseEngineChoice } from "./engines/select.ts";

/** Validated server settings. */
export interface ServerConfig {
  port: number;
  hostname: string;
  modelsDir: string;
  defaultModel?: string;
  engine: EngineChoice;
  threads?: number;
  maxBodyBytes: number;
  maxPixels: number;
  maxQueue: number;
  requestTimeoutMs: number;
  /** API keys; none = open (see {@link AuthMode}) */
  apiKeys?: ApiKey[];
  auth?: AuthMode;
  /** `/metrics` without a key (default true) */
  metricsPublic?: boolean;
  /** browser origins allowed by CORS (`*` for any); none = no CORS headers */
  corsOrigins?: string[];
  /** repository hot reload (default off when unset, `fs` from the environment) */
  watch?: WatchMode;
  watchIntervalMs?: number;
  shutdownTimeoutMs?: number;
  /** DIMSE listener, routes, destinations and outbox (default: no listener, no destination) */
  dicomNode?: DicomNodeConfig;
}

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

function keys(env: Record<string, string | undefined>, key: string, scope: KeyScope): ApiKey[] {
  const list = (env[key] ?? "").split(",").map((k) => k.trim()).filter(Boolean);
  for (const k of list) {
    if (k.length < MIN_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(k)) {
      throw new Error(
        `${key}: every key needs ≥ ${MIN_KEY_LENGTH} printable characters without spaces (one is ${k.length} long)`,
      );
    }
  }
  return list.map((k) => ({ key: k, scope }));
}

function oneOf<T extends string>(
  env: Record<string, string | undefined>,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = (env[key] ?? "").trim().toLowerCase();
  if (raw === "") return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new Error(`${key}=${env[key]}: expected ${allowed.join(", ")}`);
  }
  return raw as T;
}

function list(raw: string | undefined): string[] {
  return (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** The shipped model repository (`models/` beside `src/`). */
export const SHIPPED_MODELS_DIR = fileURLToPath(new URL("../models", import.meta.url));

function int(
  env: Record<string, string | undefined>,
  key: string,
  fallback: number,
  min = 1,
): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`${key}=${raw} is not a number ≥ ${min}`);
  }
  return value;
}

/**
 * Reads settings from an environment map.
 * @throws {Error} naming the variable when a value is invalid
 */
export function loadConfig(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): ServerConfig {
  return {
    port: int(env, "PORT", 8000, 0),
    hostname: env.TINYUNET_HOST || "0.0.0.0",
    modelsDir: env.TINYUNET_MODELS || SHIPPED_MODELS_DIR,
    defaultModel: env.TINYUNET_DEFAULT_MODEL || undefined,
    engine: parseEngineChoice(env.TINYUNET_ENGINE),
    threads: env.TINYUNET_THREADS ? int(env, "TINYUNET_THREADS", 1) : undefined,
    maxBodyBytes: Math.round(int(env, "TINYUNET_MAX_BODY_MB", 32) * 1024 * 1024),
    maxPixels: int(env, "TINYUNET_MAX_PIXELS", 16_777_216),
    maxQueue: int(env, "TINYUNET_MAX_QUEUE", 32, 0),
    requestTimeoutMs: int(env, "TINYUNET_REQUEST_TIMEOUT_MS", 30_000),
    apiKeys: [
      ...keys(env, "TINYUNET_API_KEYS", "infer"),
      ...keys(env, "TINYUNET_ADMIN_KEYS", "admin"),
    ],
    auth: oneOf(env, "TINYUNET_AUTH", ["auto", "required", "off"] as const, "auto"),
    metricsPublic:
      oneOf(env, "TINYUNET_METRICS_PUBLIC", ["1", "0", "true", "false"] as const, "1").match(
        /^(1|true)$/,
      ) !== null,
    corsOrigins: list(env.TINYUNET_CORS_ORIGINS),
    watch: oneOf(env, "TINYUNET_WATCH", ["fs", "poll", "off"] as const, "fs"),
    watchIntervalMs: int(env, "TINYUNET_WATCH_INTERVAL_MS", 2000, 50),
    shutdownTimeoutMs: int(env, "TINYUNET_SHUTDOWN_TIMEOUT_MS", 25_000),
    dicomNode: loadDicomNodeConfig(env),
  };
}
