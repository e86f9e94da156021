/**
 * The server's launch command as `deno task serve` has it (deno.json), so the benchmark, the
 * soak, the offline bundle and the deployment checks start what users start — its V8 flags
 * included (`--no-memory-pool-share-memory-on-teardown`: an ended Worker's heap goes back to
 * the system; README, Memory).
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
