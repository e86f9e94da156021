import assert from "node:assert/strict";
import { fixtureServer } from "../../../helpers/model_repo.ts";
import { UI_FILES } from "../../../../src/server/routes/ui.ts";

Deno.test("the page and its assets are served with their content types", async () => {
  await using s = await fixtureServer();
  const page = await s.app.request("/");
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await page.text();
  for (const [file, type] of Object.entries(UI_FILES)) {
    const res = await s.app.request(`/ui/${file}`);
    assert.equal(res.status, 200, file);
    assert.equal(res.headers.get("content-type"), type, file);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    await res.body?.cancel();
  }
  for (const ref of html.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)) {
    assert.equal((await s.app.request(ref[1])).status, 200, ref[1]);
  }
});

Deno.test("unknown UI files are 404 in the API's error shape", async () => {
  await using s = await fixtureServer();
  for (const path of ["/ui/nope.js", "/ui/..%2Fapp.ts", "/ui/%2e%2e%2fconfig.ts"]) {
    const res = await s.app.request(path);
    assert.equal(res.status, 404, path);
    assert.equal((await res.json()).code, "not_found");
  }
});

Deno.test("the UI loads nothing from elsewhere (works offline)", async () => {
  for (const file of Object.keys(UI_FILES)) {
    // an XML namespace name is an identifier, not something fetched
    const text = (await Deno.readTextFile(new URL(`../../../../src/ui/${file}`, import.meta.url)))
      .replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, "");
    assert.doesNotMatch(
      text,
      /\b(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i,
      `${file} references another host`,
    );
  }
});
