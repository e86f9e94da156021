/**
 * Starts the server: `deno task serve` (settings from the environment, see src/config.ts).
 * Stops gracefully on SIGINT/SIGTERM: no new connections, in-flight requests finish.
 *
 * @module
 */
import { createApp, loadConfig } from "./mod.ts";
import { log } from "./src/server/log.ts";

const config = loadConfig();
const server = createApp(config);
const started = performance.now();

const http = Deno.serve({
  port: config.port,
  hostname: config.hostname,
  onListen: ({ hostname, port }) => log("info", "listening", { url: `http://${hostname}:${port}`, models: config.modelsDir, engine: config.engine }),
}, server.app.fetch);

server.ready.then(
  () => log("info", "ready", { models: server.registry.names(), default_model: server.registry.defaultModel, ms: Math.round(performance.now() - started) }),
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
  await http.shutdown();
  await server.registry.close();
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => void stop(signal));
