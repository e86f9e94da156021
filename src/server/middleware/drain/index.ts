/**
 * Graceful drain for `main.ts`: wraps the server's fetch handler, counts requests in
 * flight, and once draining answers new requests `503 {"code":"shutting_down"}` with
 * `Retry-After` and `Connection: close` (a load balancer retries them elsewhere) until
 * every request in flight has finished. Only then should the server's `shutdown()` run.
 *
 * Why not `Deno.HttpServer.shutdown()` alone: on Deno 2.9 it makes the bodies of requests
 * still uploading unreadable at once (`BadResource`, denoland/deno#36809), so an image
 * being uploaded at SIGTERM would fail. Waiting for zero in flight first avoids that.
 *
 * @example
 * ```ts
 * const gate = new DrainGate();
 * const http = Deno.serve(gate.wrap(app.fetch));
 * Deno.addSignalListener("SIGTERM", async () => {
 *   await gate.drain(25_000);
 *   await http.shutdown();
 * });
 * ```
 * @module
 */
import { ApiError } from "../../../errors.ts";
import { errorBody } from "../../errors.ts";

type FetchHandler = (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

/** Counts requests in flight and turns new ones away while draining. */
export class DrainGate {
  #inflight = 0;
  #draining = false;
  #idle: (() => void)[] = [];

  /** Requests being handled now. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Whether {@link drain} was called. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The wrapped handler. */
  wrap(handler: FetchHandler): FetchHandler {
    return async (request, info) => {
      if (this.#draining) {
        const err = new ApiError(
          "shutting_down",
          "the server is shutting down; retry (another instance will answer)",
        );
        return Response.json(errorBody(err), {
          status: 503,
          headers: { "Retry-After": "1", Connection: "close" },
        });
      }
      this.#inflight++;
      try {
        return await handler(request, info);
      } finally {
        if (--this.#inflight === 0) { for (const fn of this.#idle.splice(0)) fn(); }
      }
    };
  }

  /**
   * Starts draining and resolves once nothing is in flight.
   * @returns false when `limitMs` passed with requests still in flight
   */
  drain(limitMs: number): Promise<boolean> {
    this.#draining = true;
    if (this.#inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), limitMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
