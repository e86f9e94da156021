/**
 * Telling a request that its client left. Deno.serve (2.9) fires `request.signal` only when
 * it next writes to a closed connection, so a request whose client hung up runs to the end
 * for nobody. The TCP front sees the close at once: it tags each request head with
 * {@link CONNECTION_HEADER} (its connection number, inserted first, so a client-sent copy
 * comes second and is ignored) and calls {@link clientGone} when that connection closes;
 * the deadline middleware subscribes with {@link onClientGone} and aborts the request
 * (499 `aborted`, its worker terminated).
 *
 * The tag also carries {@link FRONT_TOKEN}, a random per-process secret: the private port
 * Deno.serve listens on is reachable by anyone on the host, and {@link viaFront} lets the
 * server refuse a request that did not come through the front (and so skipped its
 * connection limit and timeouts).
 *
 * @module
 */

/** Header the front adds to every request head: `<connection number>;<FRONT_TOKEN>`. */
export const CONNECTION_HEADER = "x-tinyunet-connection";

/** This process's secret for {@link CONNECTION_HEADER} (128 random bits, hex). */
export const FRONT_TOKEN = Array.from(
  crypto.getRandomValues(new Uint8Array(16)),
  (b) => b.toString(16).padStart(2, "0"),
).join("");

/** The header value the front sends for connection `id`. */
export function connectionTag(id: number): string {
  return `${id};${FRONT_TOKEN}`;
}

/** Whether a request's {@link CONNECTION_HEADER} (its first value) carries this process's token. */
export function viaFront(header: string | null | undefined): boolean {
  return connectionOf(header) !== undefined;
}

const waiting = new Map<number, Set<() => void>>();

/** The connection number the front put on a request (the first value, with the right token), if any. */
export function connectionOf(header: string | null | undefined): number | undefined {
  if (!header) return undefined;
  const [number, token] = header.split(",")[0].trim().split(";");
  const id = Number(number);
  return token === FRONT_TOKEN && Number.isSafeInteger(id) && id > 0 ? id : undefined;
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

/** The abort reason when the client closed its connection (answered 499 `aborted`, not 504). */
export class ClientDisconnectedError extends Error {
  constructor() {
    super("client disconnected");
    this.name = "ClientDisconnectedError";
  }
}
