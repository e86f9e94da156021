/**
 * Telling a request that its client left. Deno.serve (2.9) fires `request.signal` only when
 * it next writes to a closed connection, so a request whose client hung up runs to the end
 * for nobody. The TCP front sees the close at once: it tags each request head with
 * {@link CONNECTION_HEADER} (its connection number, inserted first, so a client-sent copy
 * comes second and is ignored) and calls {@link clientGone} when that connection closes;
 * the deadline middleware subscribes with {@link onClientGone} and aborts the request
 * (499 `aborted`, its worker terminated).
 *
 * @module
 */

/** Header the front adds to every request head: the connection's number. */
export const CONNECTION_HEADER = "x-tinyunet-connection";

const waiting = new Map<number, Set<() => void>>();

/** The connection number the front put on a request (the first value), if any. */
export function connectionOf(header: string | null | undefined): number | undefined {
  if (!header) return undefined;
  const id = Number(header.split(",")[0]);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Calls `fn` once if connection `id` closes; returns the unsubscribe. */
export function onClientGone(id: number, fn: () => void): () => void {
  let set = waiting.get(id);
  if (!set) waiting.set(id, set = new Set());
  set.add(fn);
  return () => {
    set.delete(fn);
    if (set.size === 0 && waiting.get(id) === set) waiting.delete(id);
  };
}

/** The front's call when connection `id` closed. */
export function clientGone(id: number): void {
  const set = waiting.get(id);
  if (!set) return;
  waiting.delete(id);
  for (const fn of set) fn();
}
