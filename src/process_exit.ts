/**
 * The server's one way to end the process early (bad settings, a refused start, a failed
 * repository, shutdown): it waits for onnxruntime's start-up prewarm to end (at most 1 s;
 * `engines/native_probe/early.ts`), since exiting while it makes the environment on another
 * thread would run the library's static destructors under it.
 *
 * @module
 */
import { prewarmSettled } from "./engines/native_probe/early.ts";

/** Exits with `code` once the prewarm has ended. */
export async function exitProcess(code: number): Promise<never> {
  await prewarmSettled();
  Deno.exit(code);
}
