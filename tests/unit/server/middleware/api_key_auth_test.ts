import assert from "node:assert/strict";
import { loadConfig } from "../../../../src/config.ts";
import { authPolicy, isLoopback } from "../../../../src/server/middleware/api_key_auth/policy.ts";
import { makePng } from "../../../helpers/images.ts";
import { fixtureServer } from "../../../helpers/model_repo.ts";

const INFER = "infer-key-0123456789abcdef";
const ADMIN = "admin-key-0123456789abcdef";
const keys = [{ key: INFER, scope: "infer" as const }, { key: ADMIN, scope: "admin" as const }];
/** The default settings: no keys, auth auto. */
const OPEN = loadConfig({});

const segment = (headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "image/png", ...headers },
  body: makePng(24, 24, 3),
});

Deno.test("no key or a wrong key: 401 JSON with WWW-Authenticate; both header forms accepted", async () => {
  await using s = await fixtureServer([{ name: "lesion" }], { apiKeys: keys });
  const cases: [Record<string, string>, string | null][] = [
    [{}, null],
    [{ authorization: "Bearer wrong-key-0123456789abcdef" }, "invalid_token"],
    [{ authorization: `Bearer ${INFER}x` }, "invalid_token"],
    [{ authorization: `Bearer ${INFER.slice(0, -1)}` }, "invalid_token"],
    [{ authorization: `Basic ${btoa(`u:${INFER}`)}` }, null],
    [{ authorization: "Bearer" }, null],
    [{ "x-api-key": "nope" }, "invalid_token"],
    [{ "x-api-key": "k".repeat(100_000) }, "invalid_token"],
  ];
  for (const [headers, error] of cases) {
    const res = await s.app.request("/v1/segment", segment(headers));
    const body = await res.json();
    assert.equal(res.status, 401, JSON.stringify(headers).slice(0, 80));
    assert.equal(body.code, "unauthorized");
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="tinyunet-edge"/);
    if (error) assert.match(res.headers.get("www-authenticate")!, new RegExp(`error="${error}"`));
    assert.ok(res.headers.get("x-request-id"), "refused requests still get a request id");
  }
  const accepted: Record<string, string>[] = [{ authorization: `Bearer ${INFER}` }, {
    authorization: `bearer   ${INFER}`,
  }, { "x-api-key": INFER }];
  for (const headers of accepted) {
    const res = await s.app.request("/v1/segment", segment(headers));
    assert.equal(res.status, 200, JSON.stringify(headers));
    await res.body?.cancel();
  }
});

Deno.test("scopes: an infer key may read and infer but gets 403 on load/unload; an admin key may", async () => {
  await using s = await fixtureServer([{ name: "lesion" }], { apiKeys: keys });
  const asInfer = { "x-api-key": INFER };
  assert.equal((await s.app.request("/v2/models/lesion", { headers: asInfer })).status, 200);
  const index = await s.app.request("/v2/repository/index", { headers: asInfer });
  assert.equal(index.status, 200);
  assert.deepEqual((await index.json()).map((e: { name: string }) => e.name), ["lesion"]);
  for (
    const path of [
      "/v2/repository/models/lesion/load",
      "/v2/repository/models/lesion/unload",
      "/v2/repository/models/lesion/load/",
    ]
  ) {
    const res = await s.app.request(path, { method: "POST", headers: asInfer });
    assert.equal(res.status, 403, path);
    assert.equal((await res.json()).code, "forbidden");
  }
  assert.ok(s.registry.has("lesion"), "the refused unload did nothing");
  const load = await s.app.request("/v2/repository/models/lesion/load", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(load.status, 200);
  const unload = await s.app.request("/v2/repository/models/lesion/unload", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(unload.status, 200);
  assert.equal(s.registry.has("lesion"), false);
});

Deno.test("health probes stay open; /metrics is open by default and closed with TINYUNET_METRICS_PUBLIC=0", async () => {
  await using open = await fixtureServer([{ name: "lesion" }], { apiKeys: keys });
  assert.equal((await open.app.request("/v2/health/live")).status, 200);
  assert.equal((await open.app.request("/v2/health/ready")).status, 200);
  assert.equal((await open.app.request("/metrics")).status, 200);
  assert.equal((await open.app.request("/v2")).status, 401, "server metadata is API, not a probe");
  for (const page of ["/", "/docs", "/openapi.json"]) {
    assert.notEqual((await open.app.request(page)).status, 401, `${page} is a static page`);
  }
  assert.notEqual(
    (await open.app.request("/ui/app.js")).status,
    401,
    "the page's assets load without a key",
  );
  assert.equal(
    (await open.app.request("/", { method: "POST" })).status,
    401,
    "only GET/HEAD of the pages are open",
  );
  assert.equal(
    (await open.app.request("/v2/health/ready/../../models/lesion")).status,
    401,
    "a probe-looking path that resolves elsewhere is not public",
  );

  await using closed = await fixtureServer([{ name: "lesion" }], {
    apiKeys: keys,
    metricsPublic: false,
  });
  assert.equal((await closed.app.request("/metrics")).status, 401);
  assert.equal(
    (await closed.app.request("/metrics", { headers: { "x-api-key": INFER } })).status,
    200,
  );
});

Deno.test("no keys configured: everything open; TINYUNET_AUTH=off ignores keys", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const res = await s.app.request("/v1/segment", segment());
  assert.equal(res.status, 200);
  await res.body?.cancel();
  await using off = await fixtureServer([{ name: "lesion" }], { apiKeys: keys, auth: "off" });
  assert.equal((await off.app.request("/v2/models/lesion")).status, 200);
});

Deno.test("CORS: preflight answered before auth for configured origins only; none configured = no CORS headers", async () => {
  await using s = await fixtureServer([{ name: "lesion" }], {
    apiKeys: keys,
    corsOrigins: ["https://viewer.example"],
  });
  const preflight = await s.app.request("/v1/segment", {
    method: "OPTIONS",
    headers: {
      origin: "https://viewer.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "https://viewer.example");
  assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /Authorization/i);
  const other = await s.app.request("/v2/models/lesion", {
    headers: { origin: "https://evil.example", "x-api-key": INFER },
  });
  assert.equal(other.status, 200);
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  const allowed = await s.app.request("/v2/models/lesion", {
    headers: { origin: "https://viewer.example", "x-api-key": INFER },
  });
  assert.equal(allowed.headers.get("access-control-allow-origin"), "https://viewer.example");
  assert.match(allowed.headers.get("access-control-expose-headers") ?? "", /X-Request-Id/i);

  await using none = await fixtureServer([{ name: "lesion" }]);
  const res = await none.app.request("/v2/models/lesion", {
    headers: { origin: "https://viewer.example" },
  });
  assert.equal(res.headers.get("access-control-allow-origin"), null);
});

Deno.test("start-up policy: loopback open silently, other binds warn, required refuses, keys are validated", () => {
  for (const h of ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"]) {
    assert.ok(isLoopback(h), h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "127.0.0.1.evil"]) {
    assert.ok(!isLoopback(h), h);
  }
  assert.deepEqual(authPolicy({ ...OPEN, hostname: "127.0.0.1" }), { enforced: false });
  const open = authPolicy({ ...OPEN, hostname: "0.0.0.0" });
  assert.equal(open.enforced, false);
  assert.match(open.warning ?? "", /TINYUNET_API_KEYS/);
  assert.deepEqual(authPolicy({ ...OPEN, hostname: "0.0.0.0", auth: "off" }), { enforced: false });
  assert.deepEqual(authPolicy({ ...OPEN, hostname: "0.0.0.0", apiKeys: keys }), { enforced: true });
  assert.throws(
    () => authPolicy({ ...OPEN, hostname: "127.0.0.1", auth: "required" }),
    /TINYUNET_AUTH=required/,
  );

  const config = loadConfig({
    TINYUNET_API_KEYS: `${INFER}, ${INFER}2`,
    TINYUNET_ADMIN_KEYS: ADMIN,
    TINYUNET_AUTH: "required",
  });
  assert.deepEqual(config.apiKeys, [{ key: INFER, scope: "infer" }, {
    key: `${INFER}2`,
    scope: "infer",
  }, { key: ADMIN, scope: "admin" }]);
  assert.equal(config.auth, "required");
  assert.throws(() => loadConfig({ TINYUNET_API_KEYS: "short" }), /TINYUNET_API_KEYS.*16/);
  assert.throws(
    () => loadConfig({ TINYUNET_API_KEYS: "has a space in it 0123456789" }),
    /TINYUNET_API_KEYS/,
  );
  assert.throws(() => loadConfig({ TINYUNET_AUTH: "maybe" }), /TINYUNET_AUTH/);
  assert.deepEqual(
    loadConfig({ TINYUNET_CORS_ORIGINS: "https://a.example, https://b.example" }).corsOrigins,
    ["https://a.example", "https://b.example"],
  );
  assert.equal(loadConfig({}).metricsPublic, true);
  assert.equal(loadConfig({ TINYUNET_METRICS_PUBLIC: "0" }).metricsPublic, false);
});
