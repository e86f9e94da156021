/**
 * Real server processes for tests: a free loopback port, a `deno` child whose JSON log
 * lines are collected, and bounded waits on those lines. Children are always killed on
 * dispose, so a failing test leaves nothing running. Also the app served in-process on
 * a free port ({@link serveOnFreePort}), for browser tests.
 *
 * @module
 */
import { waitUntil } from "./wait.ts";
import { freePort } from "../../lib/free_port.ts";

export { freePort };

/** Serves a fetch handler on a free loopback port for the length of a test (`await using`). */
export function serveOnFreePort(fetch: (req: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A running `deno` child process. */
export class ServerProcess {
  readonly lines: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #pumps: Promise<void>[];
  #status?: Deno.CommandStatus;

  /**
   * Spawns `deno <args>` in the repository root with `env` added (or `command <args>`
   * in `cwd`, e.g. a bundle's start script).
   */
  constructor(
    args: string[],
    env: Record<string, string>,
    { command = Deno.execPath(), cwd = new URL("../..", import.meta.url).pathname } = {},
  ) {
    this.#child = new Deno.Command(command, {
      args,
      cwd,
      env: { ONNXRUNTIME_NODE_INSTALL: "skip", TINYUNET_LOG: "", NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    this.#pumps = [this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)];
    this.#child.status.then((s) => (this.#status = s));
  }

  async #pump(stream: ReadableStream<Uint8Array>) {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const bytes of stream) {
      rest += decoder.decode(bytes, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      this.lines.push(...parts);
    }
    if (rest) this.lines.push(rest);
  }

  /** Log lines that parse as JSON. */
  json(): Record<string, unknown>[] {
    return this.lines.flatMap((l) => {
      try {
        const v = JSON.parse(l);
        return v && typeof v === "object" ? [v] : [];
      } catch {
        return [];
      }
    });
  }

  /**
   * Waits for a JSON log line matching `match` (bounded); fails as soon as the process
   * exits without having logged it (waitUntil alone would keep polling to the limit).
   */
  async waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    what: string,
    limitMs = 60_000,
  ): Promise<Record<string, unknown>> {
    const exited = { exited: true } as const;
    const found = await waitUntil(
      () => this.json().find(match) ?? (this.#status ? exited : undefined),
      what,
      limitMs,
      50,
    );
    if (found !== exited) return found;
    await Promise.all(this.#pumps);
    const late = this.json().find(match);
    if (late) return late;
    throw new Error(
      `${what}: the process exited with ${this.#status?.code} (signal ${this.#status?.signal}):\n${
        this.lines.slice(-20).join("\n")
      }`,
    );
  }

  /** The child's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Resident memory of the child in MiB (Linux /proc), or NaN where unavailable. */
  rssMb(): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${this.pid}/status`));
      return m ? Number(m[1]) / 1024 : NaN;
    } catch {
      return NaN;
    }
  }

  get exited(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /** Sends a signal. */
  kill(signal: Deno.Signal = "SIGTERM") {
    this.#child.kill(signal);
  }

  /** Waits for exit (bounded; kills with SIGKILL past the limit). */
  async status(limitMs = 30_000): Promise<Deno.CommandStatus> {
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, limitMs);
    const status = await this.#child.status;
    clearTimeout(timer);
    await Promise.all(this.#pumps);
    return status;
  }

  async [Symbol.asyncDispose]() {
    if (!this.#status) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    await this.status(10_000);
  }
}

/** A server process with the loopback port it serves on. */
export type SpawnedServer = ServerProcess & { port: number; base: string };

/**
 * Starts the server over the repository `models` on a free loopback port: `deno run -A
 * main.ts` (or `args(port)`), the native engine on one thread, no watcher; `env` adds or
 * overrides settings.
 */
export function spawnServer(
  models: string,
  env: Record<string, string> = {},
  args: (port: number) => string[] = () => ["run", "-A", "main.ts"],
): SpawnedServer {
  const port = freePort();
  const server = new ServerProcess(args(port), {
    PORT: String(port),
    TINYUNET_HOST: "127.0.0.1",
    TINYUNET_MODELS: models,
    TINYUNET_ENGINE: "native",
    TINYUNET_THREADS: "1",
    TINYUNET_WATCH: "off",
    ...env,
  });
  return Object.assign(server, { port, base: `http://127.0.0.1:${port}` });
}

/** Waits until `GET <base>/v2/health/ready` answers 200 (bounded). */
export async function waitReady(base: string, limitMs = 90_000): Promise<void> {
  await waitUntil(
    async () => {
      const res = await fetch(`${base}/v2/health/ready`);
      await res.body?.cancel();
      return res.status === 200;
    },
    `${base} to be ready`,
    limitMs,
    100,
  );
}

/**
 * Starts the server as shipped (its own `models/`, default engine and threads) on a free
 * loopback port with no watcher: the set-up of the attack, overload and shutdown suites;
 * `env` adds or overrides settings.
 */
export function spawnShippedServer(env: Record<string, string> = {}): SpawnedServer {
  const port = freePort();
  const server = new ServerProcess(["run", "-A", "main.ts"], {
    PORT: String(port),
    TINYUNET_HOST: "127.0.0.1",
    TINYUNET_WATCH: "off",
    ...env,
  });
  return Object.assign(server, { port, base: `http://127.0.0.1:${port}` });
}
