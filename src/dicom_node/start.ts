/**
 * Starts the DICOM node next to the HTTP server (`main.ts`): the outbox delivery loops at
 * once (SEGs left by a previous run go out even before the models are warm), and the
 * DIMSE listener when `TINYUNET_DIMSE_PORT` is set — once every model is ready, so that
 * the first C-STORE never waits on a cold model. Start-up problems (port taken, outbox
 * not writable) stop the process with the reason.
 *
 * @module
 */
import type { ServerConfig } from "../config.ts";
import type { TinyUnetServer } from "../start.ts";
import { log } from "../server/log.ts";
import { exitProcess } from "../process_exit.ts";
import type { DimseListener } from "./dimse_scp.ts";

/** The running parts, to stop on shutdown. */
export interface RunningDicomNode {
  listener?: DimseListener;
  stop(): Promise<void>;
}

/** Starts the node's outbox and, when configured, its DIMSE listener. */
export async function startDicomNode(
  server: TinyUnetServer,
  config: ServerConfig,
): Promise<RunningDicomNode> {
  const node = server.dicomNode;
  const settings = node.config;
  let listener: DimseListener | undefined;
  try {
    await node.start();
    if (settings.dimsePort !== undefined) {
      await server.ready;
      // dcmjs-dimse loads only when the listener is configured
      const { startDimseListener } = await import("./dimse_scp.ts");
      listener = await startDimseListener(node, {
        port: settings.dimsePort,
        hostname: config.hostname,
        maxDatasetBytes: config.maxBodyBytes,
        instanceTimeoutMs: config.requestTimeoutMs,
      });
    }
  } catch (err) {
    log("error", "cannot start the DICOM node", { error: (err as Error).message });
    return await exitProcess(1);
  }
  return {
    listener,
    async stop() {
      await listener?.close();
      await node.stop();
    },
  };
}
