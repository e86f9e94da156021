/**
 * TinyUnet Edge as a serverless edge function (Supabase Edge Functions, Deno Deploy): one
 * fetch handler, no threads, no native add-on, no file watcher, models bundled with the
 * function or fetched from URLs at cold start.
 *
 * - Engine: `TINYUNET_ENGINE` if set; else `wasm`: the direct kernels' WebAssembly build
 *   (15 KiB) for every model they cover (the TinyUnets), in a Worker where Workers exist,
 *   else on the calling thread; another model on onnxruntime-web in a Worker (not in the
 *   edge bundle), else on tfjs-wasm (0.4 MB of WebAssembly, same thread). One thread.
 * - Models: `TINYUNET_MODEL_URLS` (comma list of version-folder URLs, fetched into a temp
 *   folder), else `TINYUNET_MODELS` (a folder deployed with the function), else the
 *   repository's `models/`.
 * - The first request waits for the cold start (download, compile, warm-up); liveness
 *   answers at once. A failed start answers 503 `model_not_ready` with the reason, and
 *   the next request tries again.
 * - `TINYUNET_BASE_PATH` strips a prefix the platform adds (Supabase: `/<function-name>`).
 * - Everything else (API keys, limits, CORS, metrics) as in src/config.ts.
 *
 * @example
 * ```ts
 * const edge = createEdgeHandler({ TINYUNET_MODEL_URLS: "https://models.example/lesion/3/" });
 * Deno.serve(edge.fetch);
 * ```
 * @module
 */
import { createApp, loadConfig, type ServerConfig, type TinyUnetServer } from "../../mod.ts";
import type { EngineChoice } from "../../src/engines/select.ts";
import { ApiError } from "../../src/errors.ts";
import { errorBody } from "../../src/server/errors.ts";
import { log } from "../../src/server/log.ts";
import { fetchModels } from "./fetch_models.ts";

/** The edge function: a fetch handler plus a way to release it (tests). */
export interface EdgeHandler {
  fetch(request: Request): Promise<Response>;
  /** settles when the cold start is done (rejects with its error) */
  ready(): Promise<TinyUnetServer>;
  close(): Promise<void>;
}

/** The engine an edge function uses when none is configured. */
export function edgeEngine(env: Record<string, string | undefined>): EngineChoice {
  if (env.TINYUNET_ENGINE) return loadConfig({ TINYUNET_ENGINE: env.TINYUNET_ENGINE }).engine;
  return "wasm";
}

/** Settings for an edge function: the server's, with one thread, no watcher, the edge engine. */
export function edgeConfig(
  env: Record<string, string | undefined>,
  modelsDir?: string,
): ServerConfig {
  const base = loadConfig({ ...env, TINYUNET_WATCH: "off" });
  return {
    ...base,
    modelsDir: modelsDir ?? base.modelsDir,
    engine: edgeEngine(env),
    threads: 1,
    watch: "off",
  };
}

async function start(env: Record<string, string | undefined>): Promise<TinyUnetServer> {
  const t0 = performance.now();
  let modelsDir: string | undefined;
  const urls = (env.TINYUNET_MODEL_URLS ?? "").split(",").map((u) => u.trim()).filter(Boolean);
  if (urls.length) {
    modelsDir = await Deno.makeTempDir({ prefix: "tinyunet-edge-" });
    const maxMb = Number(env.TINYUNET_MODEL_MAX_MB ?? 64);
    await fetchModels(urls, modelsDir, { maxBytes: maxMb * 2 ** 20 });
  }
  const server = createApp(edgeConfig(env, modelsDir));
  await server.ready;
  log("info", "edge function ready", {
    engine: server.config.engine,
    models: server.registry.names(),
    ms: Math.round(performance.now() - t0),
  });
  return server;
}

/** Builds the edge function's handler from an environment map. */
export function createEdgeHandler(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): EdgeHandler {
  const basePath = (env.TINYUNET_BASE_PATH ?? "").replace(/\/+$/, "");
  let starting: Promise<TinyUnetServer> | undefined;
  const ready = () => {
    starting ??= start(env).catch((err) => {
      starting = undefined; // the next request retries
      throw err;
    });
    return starting;
  };

  return {
    ready,
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      if (basePath && (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
        url.pathname = url.pathname.slice(basePath.length) || "/";
        request = new Request(url, request);
      }
      if (url.pathname === "/v2/health/live") return Response.json({ live: true });
      let server: TinyUnetServer;
      try {
        server = await ready();
      } catch (err) {
        log("error", "edge function cold start failed", { error: (err as Error).message });
        const api = new ApiError(
          "model_not_ready",
          `the models could not be loaded: ${(err as Error).message}`,
          { "Retry-After": "5" },
        );
        return Response.json(errorBody(api), { status: 503, headers: api.headers });
      }
      return await server.app.fetch(request);
    },
    async close() {
      const server = await starting?.catch(() => undefined);
      await server?.registry.close();
    },
  };
}
