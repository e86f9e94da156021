/**
 * A small self-contained HTML rendering of the OpenAPI document for `GET /docs`: every
 * operation with its parameters, request media types and responses (status, media
 * types, error codes). No scripts, no CDN: it works offline.
 *
 * @module
 */

type Json = Record<string, any>;

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Escapes text for HTML. */
export function escapeHtml(text: unknown): string {
  return String(text ?? "").replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function schemaSummary(schema: Json | undefined): string {
  if (!schema) return "";
  if (schema.$ref) return String(schema.$ref).split("/").pop() ?? "";
  if (schema.enum) return schema.enum.map((v: unknown) => JSON.stringify(v)).join(" | ");
  const any = schema.anyOf ?? schema.oneOf;
  if (any) return any.map(schemaSummary).join(" | ");
  if (schema.format === "binary") return "binary";
  return String(schema.type ?? "object");
}

function parameters(op: Json): string {
  const list: Json[] = op.parameters ?? [];
  if (list.length === 0) return "";
  const rows = list.map((p) =>
    `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}${
      p.required ? ", required" : ""
    }</td>` +
    `<td><code>${escapeHtml(schemaSummary(p.schema))}</code></td><td>${
      escapeHtml(p.description ?? p.schema?.description ?? "")
    }</td></tr>`
  ).join("");
  return `<table><caption>Parameters</caption><tr><th scope="col">name</th><th scope="col">in</th><th scope="col">type</th><th scope="col">description</th></tr>${rows}</table>`;
}

function responses(op: Json): string {
  const rows = Object.entries(op.responses ?? {}).map(([status, r]) => {
    const res = r as Json;
    const types = Object.entries(res.content ?? {}).map(([type, m]) => {
      const codes = (m as Json).schema?.properties?.code?.enum;
      return `<code>${escapeHtml(type)}</code>${
        codes
          ? ` codes: ${codes.map((c: string) => `<code>${escapeHtml(c)}</code>`).join(", ")}`
          : ""
      }`;
    }).join("<br>");
    return `<tr><td>${escapeHtml(status)}</td><td>${
      escapeHtml(res.description)
    }</td><td>${types}</td></tr>`;
  }).join("");
  return `<table><caption>Responses</caption><tr><th scope="col">status</th><th scope="col">meaning</th><th scope="col">content</th></tr>${rows}</table>`;
}

/** Renders the document as one HTML page. */
export function renderDocsHtml(doc: Json): string {
  const ops: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = (item as Json)[method];
      if (!op) continue;
      const body = op.requestBody
        ? `<p>Body${op.requestBody.required ? " (required)" : ""}: ${
          Object.keys(op.requestBody.content ?? {}).map((t) => `<code>${escapeHtml(t)}</code>`)
            .join(", ")
        }</p>` +
          (op.requestBody.description ? `<p>${escapeHtml(op.requestBody.description)}</p>` : "")
        : "";
      ops.push(
        `<section class="op" id="${
          escapeHtml(`${method}-${path}`)
        }"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${
          escapeHtml(path)
        }</code></h3>` +
          `<p>${escapeHtml(op.summary ?? "")}</p>${
            op.description ? `<p>${escapeHtml(op.description)}</p>` : ""
          }` +
          `${parameters(op)}${body}${responses(op)}</section>`,
      );
    }
  }
  const info = doc.info ?? {};
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)} API</title><style>
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:0 auto;padding:1rem;color:#111}
code{font-family:ui-monospace,monospace;background:#f2f2f2;padding:0 .2em}
table{border-collapse:collapse;margin:.5rem 0;width:100%}td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top}
caption{text-align:left;font-weight:600}.op{border-top:2px solid #ddd;padding-top:.5rem}
.m{display:inline-block;min-width:4em;color:#fff;padding:0 .3em;border-radius:3px}.get{background:#1a6b3c}.post{background:#1f4f99}
a:focus-visible{outline:3px solid #c60;outline-offset:2px}
</style></head><body><header><h1>${escapeHtml(info.title)} API <small>${
    escapeHtml(info.version)
  }</small></h1>
<p>${
    escapeHtml(info.description)
  }</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${
    escapeHtml(doc.openapi)
  }). <a href="/">Back to the segmentation page</a>.</p></header>
<main>${ops.join("\n")}</main></body></html>`;
}
