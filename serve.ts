/**
 * Entry for `deno serve serve.ts` and `deno serve --parallel serve.ts`: the app as a
 * default export. With `--parallel`, Deno runs one isolate per worker (`DENO_JOBS`, else
 * one per CPU) on a shared port; each isolate loads its own engine sessions, queues and
 * metrics, and tags its responses with `X-Instance-Id`.
 *
 * The same start-up as `main.ts` (src/start.ts): `TINYUNET_AUTH=required` without keys
 * refuses to start, an open API on a non-loopback address is warned about, and the
 * repository is watched for new versions once ready (`TINYUNET_WATCH`; each isolate
 * watches).
 * Host and port come from `deno serve --host/--port`, not `TINYUNET_HOST`/`PORT`.
 *
 * @module
 */
// first: onnxruntime's set-up starts while the other modules load (see early.ts)
import "./src/engines/native_probe/early.ts";
import { log } from "./src/server/log.ts";
import { INSTANCE_ID } from "./src/server/middleware/instance_id/index.ts";
import { checkAuthOrExit, configOrExit, startServer, warnIfOpen } from "./src/start.ts";

const config = await configOrExit();
// the refusal (TINYUNET_AUTH=required without keys) before listening; the warning for the
// address bound comes in onListen, once it is known
await checkAuthOrExit(config);
const server = startServer(config);
const node = config.dicomNode;
if (node.dimsePort !== undefined || node.dimseDestination || node.dicomwebDestination) {
  log("warn", "the DICOM node's listener and outbox run with main.ts only (deno task serve)", {
    instance: INSTANCE_ID,
  });
}

export default {
  fetch: server.app.fetch,
  onListen(addr) {
    const host = addr.transport === "tcp" || addr.transport === "udp" ? addr.hostname : "unix";
    warnIfOpen(config, host);
    log("info", "listening", { address: addr, instance: INSTANCE_ID });
  },
} satisfies Deno.ServeDefaultExport;
