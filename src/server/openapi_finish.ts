/**
 * What the route definitions do not say about themselves, added to the generated OpenAPI
 * document: the API-key security schemes (`Authorization: Bearer <key>` or `X-API-Key`)
 * on every operation that needs a key (`security: []` on the open ones: probes, pages,
 * this document; `/metrics` open unless `TINYUNET_METRICS_PUBLIC=0`), the 401/403 answers
 * of those operations, the 503 every route gives while the server drains, the 504 of the
 * request deadline, an `operationId` for each operation, and the server it was fetched from.
 *
 * The open/admin split mirrors `middleware/api_key_auth/scope.ts`; a test runs Redocly's
 * linter on the result.
 *
 * @module
 */
import { ERROR_STATUS, type ErrorCode } from "../errors.ts";

const OPEN = new Set([
  "GET /",
  "GET /ui/{file}",
  "GET /docs",
  "GET /openapi.json",
  "GET /v2/health/live",
  "GET /v2/health/ready",
]);
const ADMIN = /^POST \/v2\/repository\/models\/\{name\}\/(load|unload)$/;
const KEY = [{ bearerAuth: [] }, { apiKeyHeader: [] }];

type Json = Record<string, unknown>;

function errorResponse(codes: ErrorCode[], note: string): Json {
  return {
    description: `error: ${codes.join(", ")}${note ? ` (${note})` : ""}`,
    content: {
      "application/json": {
        schema: {
          type: "object",
          properties: {
            error: { type: "string", description: "what went wrong, for people" },
            code: { type: "string", enum: codes, description: "stable error code, for programs" },
          },
          required: ["error", "code"],
        },
      },
    },
  };
}

/** `POST /v1/models/{name}/segment` → `postV1ModelsByNameSegment`. */
export function operationId(method: string, path: string): string {
  const words = path.split("/").filter(Boolean).map((part) => {
    const param = /^\{(.+)\}$/.exec(part);
    const word = (param ? `by_${param[1]}` : part).replace(
      /[^A-Za-z0-9]+(.)?/g,
      (_, c) => c ? c.toUpperCase() : "",
    );
    return word.charAt(0).toUpperCase() + word.slice(1);
  });
  return method.toLowerCase() + (words.join("") || "Root");
}

/**
 * Adds security, the shared error answers, operation ids and servers to a document.
 * @param origin where the document was fetched from (its `servers` entry)
 */
export function finishDocument(doc: Json, origin?: string): Json {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (typeof op !== "object" || op === null || !("responses" in op)) continue;
      const key = `${method.toUpperCase()} ${path}`;
      op.operationId ??= operationId(method, path);
      const responses = op.responses as Record<string, Json>;
      if (OPEN.has(key)) {
        op.security = [];
      } else if (key === "GET /metrics") {
        op.security = [{}, ...KEY]; // open unless TINYUNET_METRICS_PUBLIC=0
        responses["401"] ??= errorResponse(
          ["unauthorized"],
          "TINYUNET_METRICS_PUBLIC=0 and no key",
        );
      } else {
        op.security = KEY;
        responses["401"] ??= errorResponse(
          ["unauthorized"],
          "API keys set and none or an unknown one sent",
        );
        if (ADMIN.test(key)) {
          responses["403"] ??= errorResponse(["forbidden"], "a key without the admin scope");
        }
        responses["504"] ??= errorResponse(["timeout"], "past TINYUNET_REQUEST_TIMEOUT_MS");
      }
      const busy = responses["503"];
      const codes = (busy?.content as Json | undefined)?.["application/json"] as Json | undefined;
      const codeEnum = ((codes?.schema as Json | undefined)?.properties as Json | undefined)
        ?.code as { enum?: string[] } | undefined;
      if (!busy) responses["503"] = errorResponse(["shutting_down"], "the server is draining");
      else if (codeEnum?.enum && !codeEnum.enum.includes("shutting_down")) {
        codeEnum.enum.push("shutting_down");
        busy.description = `error: ${codeEnum.enum.join(", ")}`;
      }
      const ordered = Object.fromEntries(
        Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)),
      );
      op.responses = ordered;
    }
  }
  const components = (doc.components ??= {}) as Json;
  components.securitySchemes = {
    bearerAuth: {
      type: "http",
      scheme: "bearer",
      description:
        "an API key from TINYUNET_API_KEYS as `Authorization: Bearer <key>` (needed only when keys are set)",
    },
    apiKeyHeader: {
      type: "apiKey",
      in: "header",
      name: "X-API-Key",
      description: "the same key in an `X-API-Key` header",
    },
  };
  if (origin) doc.servers = [{ url: origin, description: "the server this document came from" }];
  return doc;
}

/** Every error status the document may list (for tests). */
export const DOCUMENTED_STATUSES = [...new Set(Object.values(ERROR_STATUS))];
