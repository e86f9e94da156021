/**
 * Server settings from the environment, checked and normalised in one place.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `PORT` | 8000 | HTTP port |
 * | `TINYUNET_HOST` | 0.0.0.0 | interface to listen on |
 * | `TINYUNET_MODELS` | `models/` of this checkout | model repository |
 * | `TINYUNET_DEFAULT_MODEL` | first model by name | model behind `/v1/segment` |
 * | `TINYUNET_ENGINE` | auto | auto, native, wasm, webgpu, tfjs-wasm |
 * | `TINYUNET_THREADS` | engine default | intra-op threads per session |
 * | `TINYUNET_MAX_BODY_MB` | 32 | request body limit (413 above) |
 * | `TINYUNET_MAX_PIXELS` | 16777216 | decoded image limit (413 above) |
 * | `TINYUNET_MAX_QUEUE` | 32 | waiting runs per model before 503 |
 * | `TINYUNET_REQUEST_TIMEOUT_MS` | 30000 | per-request deadline (504) |
 *
 * @module
 */
import { fileURLToPath } from "node:url";
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
}

/** The shipped model repository (`models/` beside `src/`). */
export const SHIPPED_MODELS_DIR = fileURLToPath(new URL("../models", import.meta.url));

function int(env: Record<string, string | undefined>, key: string, fallback: number, min = 1): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${key}=${raw} is not a number ≥ ${min}`);
  return value;
}

/**
 * Reads settings from an environment map.
 * @throws {Error} naming the variable when a value is invalid
 */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): ServerConfig {
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
  };
}
