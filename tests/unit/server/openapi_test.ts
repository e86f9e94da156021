/**
 * GET /openapi.json: a valid OpenAPI 3.1 document (checked with
 * @seriousme/openapi-schema-validator against the official schema) that lists every
 * route the app serves (compared with Hono's `app.routes`, middleware excluded), with
 * the `{error, code}` schema on every operation; GET /docs renders every operation.
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { fixtureServer } from "../../helpers/model_repo.ts";

Deno.test("openapi.json validates as OpenAPI 3.1", async () => {
  await using s = await fixtureServer();
  const res = await s.app.request("/openapi.json");
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.openapi, "3.1.0");
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.equal(validator.version, "3.1");
  assert.ok(result.valid, JSON.stringify(result.errors, null, 1)?.slice(0, 3000));
  // a broken document is caught by the same check (the validator is not vacuous)
  const broken = structuredClone(doc);
  broken.paths["/v1/segment"].post.responses = "nope";
  assert.equal((await new Validator().validate(broken)).valid, false);
});

Deno.test("openapi.json lists every route the app serves, and nothing else", async () => {
  await using s = await fixtureServer();
  const doc = await (await s.app.request("/openapi.json")).json();
  const served = new Set(
    s.app.routes
      .filter((r) => r.method !== "ALL") // middleware (app.use)
      .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`),
  );
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path}`);
  }
  const undocumented = [...served].filter((r) => !documented.has(r));
  const phantom = [...documented].filter((r) => !served.has(r));
  assert.deepEqual(
    undocumented,
    [],
    `served but not in /openapi.json (declare them with createRoute, see src/server/openapi_app.ts): ${
      undocumented.join(", ")
    }`,
  );
  assert.deepEqual(phantom, [], `documented but not served: ${phantom.join(", ")}`);
  for (
    const route of [
      "POST /v1/segment",
      "GET /v1/models",
      "POST /v2/models/{name}/infer",
      "GET /",
      "GET /openapi.json",
      "GET /docs",
    ]
  ) {
    assert.ok(documented.has(route), route);
  }
});

Deno.test("every operation documents its errors as {error, code} and the segment route its media types", async () => {
  await using s = await fixtureServer();
  const doc = await (await s.app.request("/openapi.json")).json();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      const errors = Object.entries(op.responses as Record<string, any>).filter(([status]) =>
        Number(status) >= 400
      );
      assert.ok(errors.length > 0, `${method} ${path} documents no error`);
      for (const [status, r] of errors) {
        if (status === "503" && path === "/v2/health/ready") continue; // readiness body, not an error
        if (status === "409" && path === "/dicomweb/studies") continue; // PS3.18 Store Instances Response
        const schema = r.content["application/json"].schema;
        assert.deepEqual(schema.required?.sort(), ["code", "error"], `${method} ${path} ${status}`);
        assert.ok(schema.properties.code.enum.length > 0);
      }
    }
  }
  const seg = doc.paths["/v1/models/{name}/segment"].post;
  assert.deepEqual(Object.keys(seg.requestBody.content).sort(), [
    "application/dicom",
    "application/octet-stream",
    "image/jpeg",
    "image/png",
    "multipart/form-data",
  ]);
  assert.deepEqual(Object.keys(seg.responses["200"].content).sort(), [
    "application/dicom",
    "application/json",
    "image/png",
  ]);
  assert.ok(
    seg.responses["415"].content["application/json"].schema.properties.code.enum.includes(
      "unsupported_transfer_syntax",
    ),
  );
  const format = seg.parameters.find((p: { name: string }) => p.name === "format");
  assert.deepEqual(format.schema.enum, ["png", "json", "overlay", "dicom-seg"]);
});

Deno.test("query validation failures are 400 bad_request in the API's error shape", async () => {
  await using s = await fixtureServer();
  for (const q of ["format=gif", "opacity=2", "frame=0", "outline=maybe"]) {
    const res = await s.app.request(`/v1/segment?${q}`, {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: "x",
    });
    const body = await res.json();
    assert.equal(res.status, 400, q);
    assert.equal(body.code, "bad_request");
    assert.match(body.error, new RegExp(`query parameter ${q.split("=")[0]}`));
  }
});

Deno.test("/docs is a self-contained HTML page naming every operation", async () => {
  await using s = await fixtureServer();
  const doc = await (await s.app.request("/openapi.json")).json();
  const res = await s.app.request("/docs");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const html = await res.text();
  assert.doesNotMatch(html, /<script|https?:\/\//, "no scripts, nothing fetched from elsewhere");
  for (const path of Object.keys(doc.paths)) {
    assert.ok(html.includes(`<code>${path.replaceAll('"', "&#34;")}</code>`), path);
  }
});
