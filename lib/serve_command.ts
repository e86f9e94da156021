/**
 * The server's launch command as `deno task serve` has it (deno.json), so the benchmark, the
 * soak, the offline bundle and the deployment checks start what users start — its V8 flags
 * included (`--no-memory-pool-share-memory-on-teardown`: an ended Worker's heap goes back to
 * the system; `--max-semi-space-size=4`: a request's buffers go at the next scavenge; README,
 * Memory); and the deployed command (the container's entrypoint, which the
 * systemd unit repeats; tests/e2e/deploy_test.ts keeps them equal) for the bench's cold start.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);

/** The deno arguments of `deno task serve` (after `deno`). */
export function serveArgs(): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))).tasks;
  const words = String(tasks.serve).trim().split(/\s+/);
  if (words[0] !== "deno") {
    throw new Error(`deno.json's serve task is not a deno command: ${tasks.serve}`);
  }
  return words.slice(1);
}

/** The `--v8-flags=…` arguments of `deno task serve`. */
export function serveV8Flags(): string[] {
  return serveArgs().filter((a) => a.startsWith("--v8-flags"));
}

/**
 * The deployed command's deno arguments (after `deno`): the container's `ENTRYPOINT`, which the
 * systemd unit repeats (the offline bundle's launcher shares its `--cached-only
 * --node-modules-dir=manual` and V8 flags, with `--allow-all`): packages are installed at
 * build time, and the start neither resolves nor checks them. `writable` replaces its one `--allow-write=` path.
 */
export function deployedArgs(writable?: string): string[] {
  const file = Deno.readTextFileSync(new URL("deploy/container/Containerfile", ROOT));
  const line = /^ENTRYPOINT (.*)$/m.exec(file);
  if (!line) throw new Error("deploy/container/Containerfile has no ENTRYPOINT line");
  const words = JSON.parse(line[1]) as string[];
  if (words[0] !== "deno") throw new Error(`the ENTRYPOINT is not a deno command: ${line[1]}`);
  return words.slice(1).map((a) =>
    writable !== undefined && a.startsWith("--allow-write=") ? `--allow-write=${writable}` : a
  );
}
