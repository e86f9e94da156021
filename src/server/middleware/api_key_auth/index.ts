/**
 * API-key authentication with scopes. A key is sent as `Authorization: Bearer <key>` or
 * `X-API-Key: <key>`. No key or an unknown key: `401 {"code":"unauthorized"}` with
 * `WWW-Authenticate`; a known key whose scope does not cover the request:
 * `403 {"code":"forbidden"}`. Scopes: `infer` (inference and reads) and `admin` (also
 * loading and unloading models).
 *
 * Comparison is constant-time: the presented key and every configured key are hashed
 * (SHA-256, so lengths match) and compared with `timingSafeEqual`, against all keys,
 * without stopping at the first match. Keys never reach logs: `c.get("apiKeyId")` is the
 * first 8 hex digits of the key's hash, for audit lines.
 *
 * Not `hono/bearer-auth`: it reads only the Authorization header, has no scopes, and its
 * HTTPException would reach the generic 500 handler instead of the API's JSON errors.
 *
 * @example
 * ```ts
 * app.use("*", apiKeyAuth({
 *   keys: [{ key: Deno.env.get("KEY")!, scope: "infer" }],
 *   isPublic: (c) => c.req.path.startsWith("/v2/health/"),
 *   needsAdmin: (c) => c.req.path.startsWith("/v2/repository/models/"),
 * }));
 * ```
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../../env.ts";
import type { ApiKey, KeyScope } from "../../../config.ts";
import { ApiError } from "../../../errors.ts";
import { errorBody } from "../../errors.ts";

/** Options of {@link apiKeyAuth}. */
export interface ApiKeyAuthOptions {
  keys: ApiKey[];
  /** requests that need no key (health probes) */
  isPublic?: (c: Context<AppEnv>) => boolean;
  /** requests that need the `admin` scope */
  needsAdmin?: (c: Context<AppEnv>) => boolean;
  /** realm named in `WWW-Authenticate` */
  realm?: string;
}

/** Context variables this middleware sets. */

/** Longest credential looked at; longer ones are refused without hashing megabytes. */
const MAX_KEY_LENGTH = 512;

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** The key a request presents, if any. */
export function presentedKey(c: Context): string | undefined {
  const auth = c.req.header("authorization");
  if (auth !== undefined) {
    const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(auth);
    return m ? m[1] : "";
  }
  return c.req.header("x-api-key")?.trim();
}

/** The authentication middleware. With no keys it lets everything through. */
export function apiKeyAuth(
  options: ApiKeyAuthOptions,
): MiddlewareHandler<AppEnv> {
  const known = options.keys.map((k) => ({ digest: sha256(k.key), scope: k.scope }));
  const realm = options.realm ?? "tinyunet-edge";
  const challenge = (error?: string) =>
    `Bearer realm="${realm}"${error ? `, error="${error}"` : ""}`;

  return async function apiKeyAuth(c, next) {
    if (known.length === 0 || options.isPublic?.(c)) return await next();
    const key = presentedKey(c);
    if (!key) {
      const err = new ApiError(
        "unauthorized",
        "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>",
      );
      return c.json(errorBody(err), 401, { "WWW-Authenticate": challenge() });
    }
    const digest = sha256(key.length > MAX_KEY_LENGTH ? "" : key);
    let scope: KeyScope | undefined;
    for (const k of known) {
      // every key is compared; no early exit
      if (timingSafeEqual(digest, k.digest) && key.length <= MAX_KEY_LENGTH) {
        scope = scope === "admin" ? scope : k.scope;
      }
    }
    if (!scope) {
      const err = new ApiError("unauthorized", "the API key is not valid");
      return c.json(errorBody(err), 401, { "WWW-Authenticate": challenge("invalid_token") });
    }
    c.set("apiKeyId", digest.toString("hex").slice(0, 8));
    c.set("apiKeyScope", scope);
    if (scope !== "admin" && options.needsAdmin?.(c)) {
      const err = new ApiError(
        "forbidden",
        "this API key may not load or unload models: an admin key is needed",
      );
      return c.json(errorBody(err), 403);
    }
    await next();
  };
}
