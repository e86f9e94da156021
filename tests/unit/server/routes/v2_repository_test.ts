import assert from "node:assert/strict";
import { join } from "node:path";
import { v2Body, v2Input } from "../../../../lib/v2_bodies.ts";
import { watchRepository } from "../../../../src/models/watcher.ts";
import { fixtureServer } from "../../../helpers/model_repo.ts";
import { removeVersion, writeVersion } from "../../../helpers/repo_edit.ts";
import { waitUntil } from "../../../helpers/wait.ts";

const H = 16, W = 16;
const input = v2Input(H, W, { seed: 9, lo: -1, hi: 1 });
const inferBody = v2Body(input, H, W);

type App = { request(path: string, init?: RequestInit): Response | Promise<Response> };
async function infer(app: App, path = "/v2/models/lesion/infer") {
  const res = await app.request(path, { method: "POST", body: inferBody });
  const body = await res.json();
  return { status: res.status, body, logits: body.outputs?.[0]?.data as number[] | undefined };
}
const post = (app: App, path: string, body?: string) => app.request(path, { method: "POST", body });

Deno.test("repository index, unload then load, unknown and unsafe names", async () => {
  await using s = await fixtureServer([{ name: "lesion" }, { name: "head", net: { channels: 1 } }]);
  const index = await (await s.app.request("/v2/repository/index")).json();
  assert.deepEqual(index, [
    { name: "head", version: "1", state: "READY", reason: "" },
    { name: "lesion", version: "1", state: "READY", reason: "" },
  ]);
  const unload = await post(s.app, "/v2/repository/models/head/unload");
  assert.equal(unload.status, 200);
  assert.equal((await s.app.request("/v2/models/head")).status, 404);
  const after = await (await post(s.app, "/v2/repository/index", JSON.stringify({ ready: false })))
    .json();
  assert.deepEqual(after[0], {
    name: "head",
    version: "1",
    state: "UNAVAILABLE",
    reason: "unloaded",
  });
  const readyOnly =
    await (await post(s.app, "/v2/repository/index", JSON.stringify({ ready: true }))).json();
  assert.deepEqual(readyOnly.map((e: { name: string }) => e.name), ["lesion"]);
  assert.equal(
    (await post(s.app, "/v2/repository/models/head/unload")).status,
    404,
    "already unloaded",
  );

  const load = await post(
    s.app,
    "/v2/repository/models/head/load",
    JSON.stringify({ parameters: {} }),
  );
  assert.equal(load.status, 200);
  assert.deepEqual((await load.json()).versions.map((v: { action: string }) => v.action), [
    "loaded",
  ]);
  assert.equal((await s.app.request("/v2/models/head")).status, 200);

  const cases: [string, number, string][] = [
    ["/v2/repository/models/nope/load", 404, "model_not_found"],
    ["/v2/repository/models/..%2F..%2Fetc/load", 400, "bad_request"],
    ["/v2/repository/models/..%2Fx/load", 400, "bad_request"],
    ["/v2/repository/models/.hidden/load", 400, "bad_request"],
    ["/v2/repository/models/..%2F..%2Fetc/unload", 400, "bad_request"],
  ];
  for (const [path, status, code] of cases) {
    const res = await post(s.app, path);
    assert.equal(res.status, status, path);
    assert.equal((await res.json()).code, code, path);
  }
  for (
    const [body, code] of [["{nope", "bad_json"], ["[1]", "bad_request"], [
      JSON.stringify({ parameters: 3 }),
      "bad_request",
    ]]
  ) {
    const res = await post(s.app, "/v2/repository/models/head/load", body);
    assert.equal(res.status, 400, body);
    assert.equal((await res.json()).code, code);
  }
});

Deno.test("reload swaps in new weights of the same version; a new version becomes latest", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const before = await infer(s.app);
  assert.equal(before.status, 200);
  const held = s.registry.get("lesion"); // a request that looked the model up before the swap

  await writeVersion(s.root, "lesion", "1", { seed: 99 });
  const res = await post(s.app, "/v2/repository/models/lesion/load");
  assert.equal(res.status, 200, await res.clone().text());
  const after = await infer(s.app);
  assert.notDeepEqual(after.logits, before.logits, "new weights serve");
  // the old version object now forwards to its replacement instead of a released session
  const late = await held.infer({ image: { data: input.slice(), dims: [1, 3, H, W] } });
  assert.deepEqual(Array.from(late.outputs.logits.data), after.logits!.map((v) => Math.fround(v)));
  const unchanged = await (await post(s.app, "/v2/repository/models/lesion/load")).json();
  assert.deepEqual(unchanged.versions.map((v: { action: string }) => v.action), ["unchanged"]);

  await writeVersion(s.root, "lesion", "2", { seed: 5, atomic: true });
  assert.equal((await post(s.app, "/v2/repository/models/lesion/load")).status, 200);
  const latest = await infer(s.app);
  assert.equal(latest.body.model_version, "2");
  assert.equal(
    (await infer(s.app, "/v2/models/lesion/versions/1/infer")).status,
    200,
    "version 1 still served",
  );

  await removeVersion(s.root, "lesion", "1");
  const removed = await (await post(s.app, "/v2/repository/models/lesion/load")).json();
  assert.ok(
    removed.versions.some((v: { version: string; action: string }) =>
      v.version === "1" && v.action === "removed"
    ),
  );
  assert.equal((await infer(s.app, "/v2/models/lesion/versions/1/infer")).status, 404);
  await assert.rejects(
    held.infer({ image: { data: input.slice(), dims: [1, 3, H, W] } }),
    /unloaded/,
  );
});

Deno.test("a failed load keeps the old version serving and reports why (422, index, reason)", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const good = await infer(s.app);
  // a new version with a corrupt ONNX file
  await writeVersion(s.root, "lesion", "2", {
    onnx: new TextEncoder().encode("not an onnx file at all"),
  });
  const res = await post(s.app, "/v2/repository/models/lesion/load");
  assert.equal(res.status, 422);
  const body = await res.json();
  assert.equal(body.code, "model_load_failed");
  assert.match(body.error, /lesion\/2/);
  const v2 = body.versions.find((v: { version: string }) => v.version === "2");
  assert.equal(v2.state, "UNAVAILABLE");
  assert.ok(v2.reason.length > 0);
  assert.deepEqual((await infer(s.app)).logits, good.logits, "version 1 still serves");

  // corrupt the serving version's own files: it keeps serving the loaded session
  await writeVersion(s.root, "lesion", "1", { card: "{ this is not json" });
  const again = await post(s.app, "/v2/repository/models/lesion/load");
  assert.equal(again.status, 422);
  const index = await (await s.app.request("/v2/repository/index")).json();
  const v1 = index.find((e: { version: string }) => e.version === "1");
  assert.equal(v1.state, "READY");
  assert.match(v1.reason, /reload failed, still serving the previous files: .*not valid JSON/);
  assert.deepEqual((await infer(s.app, "/v2/models/lesion/versions/1/infer")).logits, good.logits);

  // fixed files load on the next request
  await writeVersion(s.root, "lesion", "2", { seed: 4 });
  await writeVersion(s.root, "lesion", "1", { seed: 3 });
  assert.equal((await post(s.app, "/v2/repository/models/lesion/load")).status, 200);
  assert.ok(
    (await (await s.app.request("/v2/repository/index")).json()).every((
      e: { state: string; reason: string },
    ) => e.state === "READY" && e.reason === ""),
  );
});

for (const mode of ["fs", "poll"] as const) {
  Deno.test(`watcher (${mode}): a dropped-in version is loaded, a broken one reported, a removed one unloaded`, async () => {
    await using s = await fixtureServer([{ name: "lesion" }]);
    const watcher = watchRepository(s.registry, { mode, intervalMs: 100, debounceMs: 100 });
    try {
      await writeVersion(s.root, "lesion", "2", { seed: 8, atomic: true });
      await waitUntil(() => s.registry.has("lesion", "2"), "version 2 to load");
      assert.equal((await infer(s.app)).body.model_version, "2");

      await Deno.mkdir(join(s.root, "lesion", "3"));
      await Deno.writeTextFile(
        join(s.root, "lesion", "3", "model.json"),
        JSON.stringify({ input: "nope" }),
      );
      await waitUntil(
        () => s.registry.index().find((e) => e.version === "3" && e.state === "UNAVAILABLE"),
        "version 3 to be reported broken",
      );
      assert.equal(
        (await infer(s.app)).body.model_version,
        "2",
        "the broken version does not take over",
      );

      await removeVersion(s.root, "lesion", "2");
      await waitUntil(() => !s.registry.has("lesion", "2"), "version 2 to unload");
      assert.equal((await infer(s.app)).body.model_version, "1");
    } finally {
      await watcher.close();
    }
  });
}

Deno.test("zero failed requests while versions are swapped under concurrent load", async () => {
  await using s = await fixtureServer([{ name: "lesion" }], { maxQueue: 64 });
  const statuses = new Map<number, number>();
  let issued = 0, answered = 0, stop = false;
  const client = async () => {
    while (!stop) {
      issued++;
      const { status } = await infer(s.app);
      answered++;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  const clients = Array.from({ length: 6 }, client);
  const swaps: number[] = [];
  for (let i = 0; i < 4; i++) {
    await waitUntil(() => answered >= (i + 1) * 20, "some requests between swaps", 60_000, 5);
    await writeVersion(s.root, "lesion", "1", { seed: 100 + i }); // same version, new weights
    if (i === 2) await writeVersion(s.root, "lesion", "2", { seed: 200, atomic: true }); // and a new version
    const res = await post(s.app, "/v2/repository/models/lesion/load");
    swaps.push(res.status);
  }
  await waitUntil(() => answered >= 100, "requests after the last swap", 60_000, 5);
  stop = true;
  await Promise.all(clients);
  assert.deepEqual(swaps, [200, 200, 200, 200]);
  assert.equal(answered, issued, "every request got an answer");
  assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
});

Deno.test("explicit load of a model whose card became invalid answers 422, twice, and keeps serving", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const card = join(s.root, "lesion", "1", "model.json");
  const good = await Deno.readTextFile(card);
  await Deno.writeTextFile(card, JSON.stringify({ ...JSON.parse(good), threshold: "high" }));
  for (let i = 0; i < 2; i++) {
    const res = await post(s.app, "/v2/repository/models/lesion/load");
    const body = await res.json();
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.equal(body.code, "model_load_failed");
  }
  assert.equal((await infer(s.app)).status, 200, "the loaded version still serves");
});

Deno.test("a card whose files leave the version folder is refused, naming the field", async () => {
  await using s = await fixtureServer([{ name: "lesion" }]);
  const card = join(s.root, "lesion", "1", "model.json");
  const good = JSON.parse(await Deno.readTextFile(card));
  for (const fp32 of ["../../../../etc/hostname", "/etc/hostname"]) {
    await Deno.writeTextFile(card, JSON.stringify({ ...good, files: { fp32 } }));
    const res = await post(s.app, "/v2/repository/models/lesion/load");
    const body = await res.json();
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.match(body.error, /files\.fp32|leaves the model version folder/);
  }
  // a symlink pointing out of the folder is refused when read
  await Deno.symlink("/etc/hostname", join(s.root, "lesion", "1", "outside.onnx"));
  await Deno.writeTextFile(card, JSON.stringify({ ...good, files: { fp32: "outside.onnx" } }));
  const res = await post(s.app, "/v2/repository/models/lesion/load");
  const body = await res.json();
  assert.equal(res.status, 422);
  assert.match(body.error, /leaves the model version folder/);
});
