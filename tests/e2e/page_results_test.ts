/// <reference lib="dom" />
/**
 * The page keeps no stale result: a new request, an error or another model clears the
 * previous result and its downloads; an empty mask says "nothing found"; the engine and
 * the model's intended modality are in words; the page has an icon. Real Chromium
 * (playwright-core) against the app on a free port.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import { launchChromium } from "../../lib/browser.ts";
import { pngAsDicom } from "../helpers/dicom.ts";
import { HC18_SAMPLE, ISIC_SAMPLE } from "../helpers/images.ts";
import { fixtureServer } from "../helpers/model_repo.ts";
import { serveOnFreePort } from "../helpers/server_process.ts";

async function settle(page: Page): Promise<string> {
  await page.waitForFunction(
    () => /^(Done|Segmentation failed)/.test(document.getElementById("status")?.textContent ?? ""),
    null,
    { timeout: 60_000 },
  );
  return await page.textContent("#status") ?? "";
}

async function downloadsDisabled(page: Page): Promise<boolean[]> {
  return await Promise.all(["#dl-mask", "#dl-seg", "#dl-json"].map((id) => page.isDisabled(id)));
}

Deno.test({
  name:
    "page: stale results are cleared (new request, error, model change); empty mask says nothing found; engine and modality in words; favicon",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using s = await fixtureServer([
      { name: "lesion", card: { threshold: 0.55 } },
      { name: "nothing", card: { threshold: 0.9999, modalities: ["US"] } },
    ]);
    const empty = await (await s.app.request("/v1/models/nothing/segment?format=json", {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: await Deno.readFile(ISIC_SAMPLE),
    })).json();
    assert.equal(empty.pixel_area, 0, "the fixture finds nothing at threshold 0.9999");
    await using http = serveOnFreePort(s.app.fetch);
    await using chromium = await launchChromium();
    const page = await chromium.browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(http.url + "/");
    await page.waitForSelector("#model option", { state: "attached" });

    // the icon
    const icon = await page.getAttribute("link[rel=icon]", "href");
    const iconRes = await fetch(new URL(icon!, http.url));
    assert.equal(iconRes.status, 200);
    assert.equal(iconRes.headers.get("content-type"), "image/svg+xml");
    assert.match(await iconRes.text(), /<svg/);

    // model info in words
    await page.selectOption("#model", "nothing");
    const info = await page.textContent("#model-info") ?? "";
    assert.match(info, /Intended for: ultrasound \(US\)/);
    assert.match(info, /on this server's processor \(ONNX Runtime\), full-precision model/);
    await page.selectOption("#model", "lesion");
    assert.match(await page.textContent("#model-info") ?? "", /Intended for: any kind of image/);

    // a result, then another model: the result and its downloads go
    await page.setInputFiles("#file", ISIC_SAMPLE.pathname);
    await page.click("#segment");
    assert.match(await settle(page), /^Done: \d+ foreground pixels/);
    assert.equal(await page.isVisible("#result"), true);
    assert.deepEqual(await downloadsDisabled(page), [false, true, false]);
    assert.match(
      await page.textContent("#model-used") ?? "",
      /computed on this server's processor/,
    );
    await page.selectOption("#model", "nothing");
    assert.equal(await page.isVisible("#result"), false, "model change clears the result");
    assert.deepEqual(await downloadsDisabled(page), [true, true, true]);

    // an empty mask says so
    await page.click("#segment");
    assert.match(await settle(page), /^Done: nothing found \(no lesion marked\)/);
    assert.match(await page.textContent("#caption") ?? "", /nothing found/);
    assert.doesNotMatch(await page.textContent("#caption") ?? "", /outlined/);

    // an error clears the previous result
    await page.selectOption("#model", "lesion");
    await page.click("#segment");
    await settle(page);
    assert.equal(await page.isVisible("#result"), true);
    await page.setInputFiles("#file", {
      name: "broken.png",
      mimeType: "image/png",
      buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]),
    });
    await page.click("#segment");
    assert.match(await settle(page), /^Segmentation failed: .*bad_image/);
    assert.equal(await page.isVisible("#result"), false, "an error clears the result");
    assert.deepEqual(await downloadsDisabled(page), [true, true, true]);

    // a DICOM of the wrong modality: the refusal names both, nothing stale is shown
    const ct = await pngAsDicom(HC18_SAMPLE, { attributes: { Modality: "CT" } });
    await page.setInputFiles("#file", {
      name: "ct.dcm",
      mimeType: "application/dicom",
      buffer: Buffer.from(ct),
    });
    await page.selectOption("#model", "nothing");
    await page.click("#segment");
    const refused = await settle(page);
    assert.match(refused, /is for US images.*Modality is CT.*modality_mismatch, HTTP 422/);
    assert.equal(await page.isVisible("#result"), false);
    assert.deepEqual(errors, [], "no script errors on the page");
  },
});
