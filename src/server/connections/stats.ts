/**
 * Connection counters of the TCP front (src/server/connections/front.ts), read by
 * `/metrics`: open connections, and connections closed for each reason.
 *
 * @module
 */

/** Why the front closed a connection. */
export type CloseReason =
  | "header_timeout"
  | "idle_timeout"
  | "over_limit"
  | "fd_exhausted"
  /** over the limit, but a liveness probe: answered 200 by the front, then closed */
  | "live_at_limit"
  /** still sending LINGER_MS after the server closed its leg (its bytes dropped) */
  | "linger_timeout";

/** Live counters (one front per process). */
export const connectionStats = {
  /** client connections open now */
  open: 0,
  /** the configured maximum (0 when no front runs) */
  max: 0,
  accepted: 0,
  closed: {
    header_timeout: 0,
    idle_timeout: 0,
    over_limit: 0,
    fd_exhausted: 0,
    live_at_limit: 0,
    linger_timeout: 0,
  } as Record<CloseReason, number>,
};
