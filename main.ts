/**
 * Starts the server: `deno task serve` (settings from the environment, see src/config.ts).
 *
 * - Refuses to start when `TINYUNET_AUTH=required` and no keys are set; warns when the
 *   API is open on a non-loopback address (see src/server/middleware/api_key_auth/policy.ts).
 * - Watches the model repository for new versions once ready (`TINYUNET_WATCH`).
 * - Stops gracefully on SIGINT/SIGTERM: readiness turns 503, requests in flight finish
 *   (new ones get 503 `shutting_down` meanwhile), then the listener closes, sessions are
 *   released, exit 0; exit 1 if requests in flight outlast `TINYUNET_SHUTDOWN_TIMEOUT_MS`.
 *   (See src/server/middleware/drain for why the listener closes last.)
 *
 * @module
 */
import { createApp, loadConfig, type ServerConfig } from "./mod.ts";
import { startDicomNode } from "./src/dicom_node/start.ts";
import { type RepositoryWatcher, watchRepository } from "./src/models/watcher.ts";
import { log } from "./src/server/log.ts";
import { authPolicy } from "./src/server/middleware/api_key_auth/policy.ts";
import { DrainGate } from "./src/server/middleware/drain/index.ts";
import { INSTANCE_ID } from "./src/server/middleware/instance_id/index.ts";

let config: ServerConfig;
try {
  config = loadConfig();
  const { warning } = authPolicy(config);
  if (warning) log("warn", warning);
} catch (err) {
  log("error", "cannot start", { error: (err as Error).message });
  Deno.exit(1);
}

const server = createApp(config);
const started = performance.now();
let watcher: RepositoryWatcher | undefined;
const gate = new DrainGate();
const dicom = startDicomNode(server, config);

const http = Deno.serve({
  port: config.port,
  hostname: config.hostname,
  onListen: ({ hostname, port }) =>
    log("info", "listening", {
      url: `http://${hostname}:${port}`,
      models: config.modelsDir,
      engine: config.engine,
      instance: INSTANCE_ID,
    }),
}, gate.wrap(server.app.fetch));

server.ready.then(
  () => {
    log("info", "ready", {
      models: server.registry.names(),
      default_model: server.registry.defaultModel,
      ms: Math.round(performance.now() - started),
    });
    if (config.watch && config.watch !== "off" && !stopping) {
      watcher = watchRepository(server.registry, {
        mode: config.watch,
        intervalMs: config.watchIntervalMs,
        debounceMs: Math.max(50, Math.round((config.watchIntervalMs ?? 2000) / 4)),
        onSync: (results) =>
          log("info", "model repository changed", {
            results: results.filter((r) => r.action !== "unchanged"),
          }),
        onError: (err) => log("error", "model repository rescan failed", { error: err.message }),
      });
    }
  },
  (err) => {
    log("error", "model repository failed to load", { error: (err as Error).message });
    Deno.exit(1);
  },
);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log("info", "shutting down", { signal });
  server.registry.markDraining();
  const limit = config.shutdownTimeoutMs ?? 25_000;
  const drained = await gate.drain(limit);
  if (!drained) {
    log("error", "requests in flight did not finish in time; exiting", {
      timeout_ms: limit,
      inflight: gate.inflight,
    });
    Deno.exit(1);
  }
  await http.shutdown();
  await (await dicom).stop();
  await watcher?.close();
  await server.registry.close();
  log("info", "stopped", { signal });
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void stop(signal));
}
