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
// first: onnxruntime's set-up starts while the other modules load (see early.ts)
import "./src/engines/native_probe/early.ts";
import { startDicomNode } from "./src/dicom_node/start.ts";
import { DrainGate } from "./src/server/middleware/drain/index.ts";
import { INSTANCE_ID } from "./src/server/middleware/instance_id/index.ts";
import { log } from "./src/server/log.ts";
import { checkAuthOrExit, configOrExit, startServer, warnIfOpen } from "./src/start.ts";
import { exitProcess } from "./src/process_exit.ts";
import { TcpFront } from "./src/server/connections/front.ts";
import { CONNECTION_HEADER, viaFront } from "./src/server/connections/client_gone.ts";
import { ApiError } from "./src/errors.ts";
import { errorBody } from "./src/server/errors.ts";

const config = await configOrExit();
await checkAuthOrExit(config);
warnIfOpen(config);

// Running out of file descriptors makes Deno.serve's accept fail with an unhandled
// rejection ("Too many open files") that would end the process; log it and keep serving.
globalThis.addEventListener("unhandledrejection", (e) => {
  const message = String((e.reason as Error)?.message ?? e.reason);
  if (/too many open files|EMFILE|ENFILE/i.test(message)) {
    e.preventDefault();
    log("error", "out of file descriptors; listening again once some close", {
      error: message,
    });
    relisten();
  }
});

const server = startServer(config);
const gate = new DrainGate();
const dicom = startDicomNode(server, config);

const handler = gate.wrap(server.app.fetch);
const listening = (hostname: string, port: number) =>
  log("info", "listening", {
    url: `http://${hostname}:${port}`,
    models: config.modelsDir,
    engine: config.engine,
    instance: INSTANCE_ID,
    ...(front ? { max_connections: config.maxConnections } : {}),
  });
// With the TCP front (default), Deno.serve listens on a private loopback port and the front
// owns the public one (connection limit, header and idle timeouts; see connections/front.ts).
let front: TcpFront | undefined;
/** The answer on the private port to a request that did not come through the front. */
const NOT_THROUGH_FRONT = () =>
  Response.json(
    errorBody(new ApiError("not_through_front", "connect through the server's public port")),
    { status: 403 },
  );
function listen(port = config.port): Deno.HttpServer<Deno.NetAddr> {
  if (config.connectionFront) {
    const internal = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request, info) =>
        viaFront(request.headers.get(CONNECTION_HEADER))
          ? handler(request, info)
          : NOT_THROUGH_FRONT(),
    );
    if (front) front.upstreamPort = internal.addr.port;
    else {
      front = new TcpFront({
        hostname: config.hostname,
        port,
        upstreamPort: internal.addr.port,
        maxConnections: config.maxConnections ?? 4096,
        headerTimeoutMs: config.headerTimeoutMs ?? 10_000,
        idleTimeoutMs: config.idleTimeoutMs ?? 30_000,
      });
      listening(front.addr.hostname, front.addr.port);
    }
    return internal;
  }
  return Deno.serve({
    port,
    hostname: config.hostname,
    onListen: ({ hostname, port }) => listening(hostname, port),
  }, handler);
}
let http = listen();

/**
 * After fd exhaustion Deno.serve's accept loop has ended (its listener is closed): listen
 * again on the same port once descriptors are free, backing off up to 2 s. Connections
 * already open keep being served by the old server object meanwhile.
 */
function relisten(delayMs = 100) {
  if (stopping) return;
  setTimeout(() => {
    try {
      http = listen(front ? config.port : http.addr.port);
      log("info", "listening again after running out of file descriptors", {});
    } catch (err) {
      log("error", "cannot listen yet", { error: (err as Error).message });
      relisten(Math.min(delayMs * 2, 2000));
    }
  }, delayMs);
}

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
    await exitProcess(1);
  }
  const delay = config.shutdownDelayMs ?? 0;
  if (delay > 0) {
    // still answering 503 shutting_down + Connection: close, so that clients and load
    // balancers that keep sending meet a refusal, not a closed port or a reset
    log("info", "drained; refusing new requests before closing", { delay_ms: delay });
    await new Promise((r) => setTimeout(r, delay));
  }
  front?.stopAccepting();
  await http.shutdown();
  await front?.close();
  await dicomStopped;
  await server.close();
  log("info", "stopped", { signal });
  await exitProcess(0);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void stop(signal));
}
