/**
 * Entry for `deno serve serve.ts` and `deno serve --parallel serve.ts`: the app as a
 * default export. With `--parallel`, Deno runs one isolate per worker (`DENO_JOBS`, else
 * one per CPU) on a shared port; each isolate loads its own engine sessions, queues and
 * metrics, and tags its responses with `X-Instance-Id`.
 *
 * Same start-up rules as `main.ts`: `TINYUNET_AUTH=required` without keys refuses to
 * start, an open API on a non-loopback address is warned about, and the repository is
 * watched for new versions once ready (`TINYUNET_WATCH`; each isolate watches).
 * Host and port come from `deno serve --host/--port`, not `TINYUNET_HOST`/`PORT`.
 *
 * @module
 */
import { createApp, loadConfig } from "./mod.ts";
import { watchRepository } from "./src/models/watcher.ts";
import { log } from "./src/server/log.ts";
import { authPolicy } from "./src/server/middleware/api_key_auth/policy.ts";
import { INSTANCE_ID } from "./src/server/middleware/instance_id/index.ts";

const config = loadConfig();
const server = createApp(config);
const node = config.dicomNode;
if (node && (node.dimsePort !== undefined || node.dimseDestination || node.dicomwebDestination)) {
  log("warn", "the DICOM node's listener and outbox run with main.ts only (deno task serve)", {
    instance: INSTANCE_ID,
  });
}
server.ready.then(
  () => {
    log("info", "ready", { models: server.registry.names(), instance: INSTANCE_ID });
    if (config.watch && config.watch !== "off") {
      watchRepository(server.registry, {
        mode: config.watch,
        intervalMs: config.watchIntervalMs,
        onSync: (results) =>
          log("info", "model repository changed", {
            instance: INSTANCE_ID,
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

export default {
  fetch: server.app.fetch,
  onListen(addr) {
    const host = addr.transport === "tcp" || addr.transport === "udp" ? addr.hostname : "unix";
    try {
      const { warning } = authPolicy(config, host);
      if (warning) log("warn", warning);
    } catch (err) {
      log("error", "cannot start", { error: (err as Error).message });
      Deno.exit(1);
    }
    log("info", "listening", { address: addr, instance: INSTANCE_ID });
  },
} satisfies Deno.ServeDefaultExport;
