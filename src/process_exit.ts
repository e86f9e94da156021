/**
 * The server's one way to end the process early (bad settings, a refused start, a failed
 * repository, shutdown): it first waits (at most 1 s) for work that must not be cut off by an
 * exit — onnxruntime's start-up prewarm (`engines/native_probe/early.ts` registers it), since
 * exiting while it makes the environment on another thread would run the library's static
 * destructors under it. Importing this module starts nothing (library users of `mod.ts` reach
 * it through `start.ts`).
 *
 * @module
 */

const holds: Promise<unknown>[] = [];

/** Makes {@link exitProcess} wait for `work` (which should never reject) before exiting. */
export function holdExitUntil(work: Promise<unknown>): void {
  holds.push(work);
}

/** Resolves once every held work has ended, or after `maxMs`. */
export function exitHoldsSettled(maxMs = 1000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    Promise.allSettled(holds).then(() => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, maxMs)),
  ]).finally(() => clearTimeout(timer));
}

/** Exits with `code` once the held work has ended (at most 1 s). */
export async function exitProcess(code: number): Promise<never> {
  await exitHoldsSettled();
  Deno.exit(code);
}
