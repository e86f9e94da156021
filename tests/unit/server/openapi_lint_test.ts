/**
 * The generated OpenAPI document passes Redocly's linter (`@redocly/cli lint`, its
 * recommended rules) with no error, and says what the route definitions alone did not:
 * API-key security on the operations that need a key, none on the open ones, 401/403/503/504
 * where they occur, an operationId on every operation, the server it came from.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fixtureServer } from "../../helpers/model_repo.ts";

/** Pinned, and in deno.json so that `deno install` fetches it. */
const REDOCLY = "npm:@redocly/cli@2.77.0";

type Op = {
  operationId?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
};

Deno.test("openapi: Redocly lint finds 0 errors; security, operationIds, error answers, servers", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const doc = await (await s.app.request("/openapi.json")).json();
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-openapi-" });
  try {
    const file = join(dir, "openapi.json");
    await Deno.writeTextFile(file, JSON.stringify(doc, null, 1));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", REDOCLY, "lint", file, "--format=json"],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const report = JSON.parse(text.slice(text.indexOf("{")));
    const errors = (report.problems as { severity: string; ruleId: string; message: string }[])
      .filter((p) => p.severity === "error");
    assert.deepEqual(errors.map((e) => `${e.ruleId}: ${e.message}`), [], "Redocly lint errors");
    assert.equal(report.totals.errors, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), [
    "apiKeyHeader",
    "bearerAuth",
  ]);
  assert.equal(doc.servers[0].url, "http://localhost");
  const ops = Object.entries(doc.paths as Record<string, Record<string, Op>>)
    .flatMap(([path, item]) =>
      Object.entries(item).map(([m, op]) => ({ key: `${m} ${path}`, op }))
    );
  const ids = ops.map((o) => o.op.operationId);
  assert.ok(ids.every(Boolean), "every operation has an operationId");
  assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
  const op = (key: string) => ops.find((o) => o.key === key)!.op;
  const segment = op("post /v1/models/{name}/segment");
  assert.deepEqual(segment.security, [{ bearerAuth: [] }, { apiKeyHeader: [] }]);
  for (const status of ["401", "413", "415", "422", "503", "504"]) {
    assert.ok(status in segment.responses, `segment documents ${status}`);
  }
  assert.ok("403" in op("post /v2/repository/models/{name}/load").responses);
  assert.deepEqual(op("get /v2/health/ready").security, []);
  assert.deepEqual(op("get /").security, []);
});
