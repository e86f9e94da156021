/**
 * Bounded waiting for tests: poll a condition until it holds or a generous limit passes
 * (the limit only stops a broken test from hanging; nothing asserts how fast it was).
 *
 * @module
 */

/** Polls `check` every `everyMs` until it returns a truthy value; throws after `limitMs`. */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  what: string,
  limitMs = 30_000,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const end = performance.now() + limitMs;
  let last: unknown;
  while (performance.now() < end) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `gave up waiting for ${what} after ${limitMs} ms${
      last ? ` (last error: ${(last as Error).message})` : ""
    }`,
  );
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
