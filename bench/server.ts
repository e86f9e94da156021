/**
 * The real server as a child process (`deno task serve`'s command) on a free loopback
 * port, with the shipped model repository and default settings: started, waited on until
 * `/v2/health/ready` answers 200, its JSON log lines drained and read, and stopped with
 * SIGTERM. Used by the HTTP load, cold-start and profile parts.
 *
 * @module
 */
import { dirname } from "node:path";
import { kernelLibraryPath } from "../src/engines/direct/kernels.ts";
import { deployedArgs, serveArgs } from "../lib/serve_command.ts";
import { procMemory } from "./memory.ts";
import { freePort } from "../lib/free_port.ts";

const ROOT = new URL("../", import.meta.url);

/** A running server. */
export interface ServerProcess {
  pid: number;
  url: string;
  /** spawn → first 200 from /v2/health/ready (ms) */
  ready_ms: number;
  /** the server's own "ready" log line's `ms` (module load → models warm), if logged */
  logged_ready_ms: number | null;
  /** the "model loaded" runtime facts logged by the server (model, engine, threads, …) */
  runtime: unknown[];
  /** log lines seen so far */
  logLines(): number;
  stop(): Promise<void>;
}

/** Options of {@link startServer}. */
export interface StartOptions {
  /** extra environment (over PORT, TINYUNET_HOST, TINYUNET_MODELS) */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** poll interval of the readiness probe */
  pollMs?: number;
  /** deno arguments instead of {@link serveArgs}; `{PORT}` is replaced by the port */
  args?: string[];
}

/**
 * Options that start the deployed command (the container's entrypoint) with `state` as its one
 * writable folder, where its native probe cache lives too, and the direct kernels built ahead
 * where this process builds them (as the image's build stage does; the command may not run a
 * compiler).
 */
export function deployedStart(state: string): { args: string[]; env: Record<string, string> } {
  return {
    args: deployedArgs(state),
    env: {
      TINYUNET_NATIVE_PROBE_CACHE: `${state}/probe-cache`,
      TINYUNET_KERNELS_DIR: dirname(kernelLibraryPath()),
    },
  };
}

/** Starts `main.ts` and resolves once it is ready. */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: (options.args ?? serveArgs()).map((a) => a.replaceAll("{PORT}", String(port))),
    cwd: ROOT,
    env: {
      PORT: String(port),
      TINYUNET_HOST: "127.0.0.1",
      TINYUNET_MODELS: new URL("models/", ROOT).pathname,
      ONNXRUNTIME_NODE_INSTALL: "skip",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let lines = 0;
  let loggedReady: number | null = null;
  const runtime: unknown[] = [];
  const tail: string[] = [];
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    let buf = "";
    // (cast: Deno 2.9's lib types TextDecoderStream's writable as BufferSource, which pipeThrough rejects)
    for await (
      const chunk of stream.pipeThrough(
        new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>,
      )
    ) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines++;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (line.includes('"ready"') || line.includes('"model loaded"')) {
          try {
            const j = JSON.parse(line);
            if (j.msg === "ready") loggedReady = j.ms ?? null;
            if (j.msg === "model loaded") {
              runtime.push(
                ...(j.runtime ?? []).map((r: object) => ({
                  model: `${j.model}/${j.version}`,
                  ...r,
                })),
              );
            }
          } catch { /* not JSON */ }
        }
      }
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]).catch(() => {});
  let exited: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => (exited = s));
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      await status;
      clearTimeout(timer);
    }
    await drained;
  };
  const deadline = t0 + (options.readyTimeoutMs ?? 120_000);
  const pollMs = options.pollMs ?? 5;
  while (true) {
    if (exited) {
      await drained;
      throw new Error(
        `server exited (code ${(exited as Deno.CommandStatus).code}) before ready:\n${
          tail.join("\n")
        }`,
      );
    }
    try {
      const res = await fetch(`${url}/v2/health/ready`);
      await res.body?.cancel();
      if (res.status === 200) break;
    } catch { /* not listening yet */ }
    if (performance.now() > deadline) {
      await stop();
      throw new Error(
        `server not ready within ${options.readyTimeoutMs ?? 120_000} ms:\n${tail.join("\n")}`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const ready_ms = performance.now() - t0;
  // the "model loaded" line is written just after readiness; give it a moment
  for (let i = 0; i < 50 && runtime.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  return {
    pid: child.pid,
    url,
    ready_ms,
    logged_ready_ms: loggedReady,
    runtime,
    logLines: () => lines,
    stop,
  };
}

/** RSS/HWM of the server now. */
export function serverMemory(server: ServerProcess) {
  return procMemory(server.pid);
}
