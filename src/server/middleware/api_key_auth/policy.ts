/**
 * Whether a server may start with the authentication it has (decided once, at start):
 *
 * - keys configured: every API request needs one (whatever the bind address);
 * - `TINYUNET_AUTH=required` and no keys: refuse to start (for deployments, so a missing
 *   secret cannot silently open the API);
 * - no keys on a loopback address: open, nothing to say (only this machine can connect);
 * - no keys on any other address: open, with a loud warning at start, because the
 *   two-command clinic install binds 0.0.0.0; set keys, bind 127.0.0.1, or say
 *   `TINYUNET_AUTH=off` to silence it;
 * - `TINYUNET_AUTH=off`: no authentication even if keys are set.
 *
 * @example
 * ```ts
 * const { warning } = authPolicy(config); // throws when it must refuse
 * if (warning) log("warn", warning);
 * ```
 * @module
 */
import type { ServerConfig } from "../../../config.ts";

/** The decision. */
export interface AuthDecision {
  /** whether requests need a key */
  enforced: boolean;
  /** a line to log at start, if any */
  warning?: string;
}

/** Whether a host name or address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Decides, for settings and the address the server binds.
 * @throws {Error} when `TINYUNET_AUTH=required` and no keys are configured
 */
export function authPolicy(
  config: Pick<ServerConfig, "apiKeys" | "auth" | "hostname">,
  host = config.hostname,
): AuthDecision {
  const keys = config.apiKeys.length;
  const mode = config.auth;
  if (mode === "off") return { enforced: false };
  if (keys > 0) return { enforced: true };
  if (mode === "required") {
    throw new Error(
      "TINYUNET_AUTH=required but no keys are set: give TINYUNET_API_KEYS and/or TINYUNET_ADMIN_KEYS",
    );
  }
  if (isLoopback(host)) return { enforced: false };
  return {
    enforced: false,
    warning:
      `no API keys are configured and the server listens on ${host}: anyone who can reach this port can use the API ` +
      "and load or unload models. Set TINYUNET_API_KEYS / TINYUNET_ADMIN_KEYS, bind TINYUNET_HOST=127.0.0.1, " +
      "or set TINYUNET_AUTH=off to accept this.",
  };
}
