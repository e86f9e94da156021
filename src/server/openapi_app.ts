/**
 * Route modules are `OpenAPIHono` apps: every route is declared with `createRoute`, so the
 * OpenAPI document is generated from the same definitions that route and validate
 * requests. This file holds what they share: the app factory (query/path validation
 * failures become the API's `bad_request` error) and the documented error responses.
 *
 * @module
 */
import { OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import { ApiError, ERROR_STATUS, type ErrorCode } from "../errors.ts";
import type { AppEnv } from "./env.ts";

/** Turns a failed zod validation into a `bad_request` ApiError (thrown to `onError`). */
function validationHook(result: { success: boolean; target: string; error?: unknown }): void {
  if (result.success) return;
  const issues =
    (result.error as { issues?: { path: PropertyKey[]; message: string }[] })?.issues ?? [];
  const where = result.target === "param" ? "path parameter" : `${result.target} parameter`;
  const text = issues.map((i) =>
    `${where} ${i.path.map(String).join(".") || "(all)"}: ${i.message}`
  ).join("; ");
  throw new ApiError("bad_request", text || `invalid ${result.target}`);
}

/** A route module's app, typed with the app's environment. */
export function openApiApp(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

const errorSchemas = new Map<string, ReturnType<typeof makeErrorSchema>>();

/** The body of every error response (one schema per set of codes, shared by the routes). */
export function errorSchema(codes: readonly ErrorCode[]) {
  const key = codes.join(",");
  let schema = errorSchemas.get(key);
  if (!schema) errorSchemas.set(key, schema = makeErrorSchema(codes));
  return schema;
}

function makeErrorSchema(codes: readonly ErrorCode[]) {
  return z.object({
    error: z.string().openapi({ description: "what went wrong, for people" }),
    code: z.enum(codes as [ErrorCode, ...ErrorCode[]]).openapi({
      description: "stable error code, for programs",
    }),
  });
}

/** Codes every route can answer with (body limit and unexpected failures). */
const ALWAYS: ErrorCode[] = ["too_large", "internal"];

/**
 * Documented error responses for a route: its codes grouped by HTTP status, each with
 * the `{error, code}` schema limited to the codes of that status.
 */
export function errorResponses(codes: readonly ErrorCode[]): RouteConfig["responses"] {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...new Set([...codes, ...ALWAYS])]) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: RouteConfig["responses"] = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: `error: ${list.join(", ")}`,
      content: { "application/json": { schema: errorSchema(list) } },
    };
  }
  return out;
}

/** The `{name}` path parameter. */
export const NameParam = z.string().min(1).openapi({
  param: { name: "name", in: "path" },
  description: "model name",
  example: "isic2017",
});
/** The `{version}` path parameter. */
export const VersionParam = z.string().min(1).openapi({
  param: { name: "version", in: "path" },
  description: "model version",
  example: "1",
});
