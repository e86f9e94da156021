/**
 * Starts the server: `deno task serve` (settings from the environment, see src/config.ts).
 *
 * - Start-up as in src/start.ts (shared with serve.ts): refuses to start when
 *   `TINYUNET_AUTH=required` and no keys are set, warns when the API is open on a
 *   non-loopback address, watches the model repository once ready (`TINYUNET_WATCH`).
 * - Stops gracefully on SIGINT/SIGTERM: readiness turns 503, requests in flight finish
 *   (new ones get 503 `shutting_down` meanwhile), then the listener closes, sessions are
 *   released, exit 0; exit 1 if requests in flight outlast `TINYUNET_SHUTDOWN_TIMEOUT_MS`.
 *   (See src/server/middleware/drain for why the listener closes last.)
 *
 * @module
 */
import { startDicomNode } from "./src/dicom_node/start.ts";
import { DrainGate } from "./src/server/middleware/drain/index.ts";
import { INSTANCE_ID } from "./src/server/middleware/instance_id/index.ts";
import { log } from "./src/server/log.ts";
import { checkAuthOrExit, configOrExit, startServer } from "./src/start.ts";

const config = configOrExit();
checkAuthOrExit(config);
const server = startServer(config);
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

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log("info", "shutting down", { signal });
  server.registry.markDraining();
  // the DICOM node drains alongside HTTP: no new associations, C-STOREs in progress answered
  const dicomStopped = dicom.then((d) => d.stop());
  const drained = await gate.drain(config.shutdownTimeoutMs);
  if (!drained) {
    log("error", "requests in flight did not finish in time; exiting", {
      timeout_ms: config.shutdownTimeoutMs,
      inflight: gate.inflight,
    });
    Deno.exit(1);
  }
  await http.shutdown();
  await dicomStopped;
  await server.close();
  log("info", "stopped", { signal });
  Deno.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void stop(signal));
}
