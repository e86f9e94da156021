/// <reference lib="dom" />
/**
 * The browser page in real Chromium (playwright-core) against the real app served on a
 * free port: upload a PNG, drop a DICOM, and check that the overlay is drawn and the
 * numbers on the page are the API's for the same image.
 */
import assert from "node:assert/strict";
import { decode as decodePng } from "fast-png";
import type { Page } from "playwright-core";
import { fixtureServer } from "../helpers/model_repo.ts";
import { serveOnFreePort } from "../helpers/server_process.ts";
import { launchChromium } from "../../lib/browser.ts";
import { pngAsDicom } from "../helpers/dicom.ts";
import { ISIC_SAMPLE, readSample } from "../helpers/images.ts";

/** The canvas as RGB samples. */
function canvasRgb(page: Page): Promise<{ width: number; height: number; rgb: number[] }> {
  return page.evaluate(() => {
    const canvas = document.getElementById("canvas") as HTMLCanvasElement;
    const rgba = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    return {
      width: canvas.width,
      height: canvas.height,
      rgb: Array.from(rgba).filter((_, i) => i % 4 !== 3),
    };
  });
}

/** Asserts the page's drawing equals the server's overlay PNG for the same settings (±1 per sample). */
async function assertSameAsServerOverlay(page: Page, overlayPng: Uint8Array) {
  const server = decodePng(overlayPng);
  const drawn = await canvasRgb(page);
  assert.deepEqual([drawn.width, drawn.height], [server.width, server.height]);
  let worst = 0;
  for (let i = 0; i < drawn.rgb.length; i++) {
    worst = Math.max(worst, Math.abs(drawn.rgb[i] - server.data[i]));
  }
  assert.ok(worst <= 1, `page overlay differs from the server's by up to ${worst}`);
}

type App = { request: (path: string, init: RequestInit) => Response | Promise<Response> };

async function api(app: App, path: string, body: Uint8Array, type: string): Promise<Response> {
  const res = await app.request(path, {
    method: "POST",
    headers: { "content-type": type },
    body: body as Uint8Array<ArrayBuffer>,
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res;
}

async function waitForResult(page: Page) {
  await page.waitForFunction(
    () => /^(Done|Segmentation failed)/.test(document.getElementById("status")?.textContent ?? ""),
    null,
    { timeout: 60_000 },
  );
  const status = await page.textContent("#status");
  assert.match(status ?? "", /^Done/, `page status: ${status}`);
}

Deno.test({
  name:
    "page: upload a PNG, see the overlay and the API's numbers; drop a DICOM, see mm² and get a SEG",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // threshold 0.55: the random-weight fixture model then marks a part of the image, not all of it
    await using s = await fixtureServer([{ name: "lesion", card: { threshold: 0.55 } }]);
    await using http = serveOnFreePort(s.app.fetch);
    await using chromium = await launchChromium();
    const page = await chromium.browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(http.url + "/");

    // the model list comes from GET /v1/models, and the untrained card is flagged
    await page.waitForSelector("#model option", { state: "attached" });
    assert.equal(await page.inputValue("#model"), "lesion");
    assert.equal(await page.isVisible("#untrained"), true, "trained=false must be shown");

    // accessibility basics: every control is labelled, status is announced
    const unlabelled = await page.$$eval(
      "input, select",
      (els) => els.filter((e) => (e as HTMLInputElement).labels?.length === 0).map((e) => e.id),
    );
    assert.deepEqual(unlabelled, []);
    assert.equal(await page.getAttribute("#status", "aria-live"), "polite");

    // PNG through the file chooser, submitted with the keyboard
    const png = await readSample(ISIC_SAMPLE);
    await page.setInputFiles("#file", ISIC_SAMPLE.pathname);
    await page.focus("#segment");
    await page.keyboard.press("Enter");
    await waitForResult(page);
    const expected =
      await (await api(s.app, "/v1/models/lesion/segment?format=json", png, "image/png")).json();
    assert.equal(await page.textContent("#pixel-area"), String(expected.pixel_area));
    assert.match(await page.textContent("#area-mm2") ?? "", /unknown/);
    assert.equal(await page.textContent("#size"), `${expected.width} × ${expected.height} pixels`);
    assert.match(await page.textContent("#timings") ?? "", /inference [\d.]+ ms/);
    assert.match(
      await page.textContent("#postprocess") ?? "",
      /^none/,
      "the fixture card asks for no clean-up",
    );

    // the overlay drawn by the page is the server's overlay for the same settings
    await page.fill("#opacity", "0.6");
    await page.dispatchEvent("#opacity", "input");
    assert.ok(
      expected.pixel_area > 0 && expected.pixel_area < expected.width * expected.height,
      "fixture mask is partial",
    );
    await assertSameAsServerOverlay(
      page,
      new Uint8Array(
        await (await api(
          s.app,
          "/v1/models/lesion/segment?format=overlay&opacity=0.6",
          png,
          "image/png",
        )).arrayBuffer(),
      ),
    );
    await page.check("#outline-only");
    await assertSameAsServerOverlay(
      page,
      new Uint8Array(
        await (await api(
          s.app,
          "/v1/models/lesion/segment?format=overlay&opacity=0",
          png,
          "image/png",
        )).arrayBuffer(),
      ),
    );
    assert.equal(await page.isDisabled("#dl-seg"), true, "DICOM SEG needs a DICOM input");

    // a DICOM dropped on the drop zone: windowed by the server, mm² from its pixel spacing
    const dicom = await pngAsDicom(ISIC_SAMPLE, { pixelSpacing: [0.05, 0.05] });
    const transfer = await page.evaluateHandle((bytes: number[]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], "lesion.dcm", { type: "" }));
      return dt;
    }, Array.from(dicom));
    await page.dispatchEvent("#drop", "drop", { dataTransfer: transfer });
    await page.waitForFunction(() =>
      /DICOM/.test(document.getElementById("file-name")?.textContent ?? "")
    );
    await page.click("#segment");
    await waitForResult(page);
    const expectedDicom =
      await (await api(s.app, "/v1/models/lesion/segment?format=json", dicom, "application/dicom"))
        .json();
    assert.equal(await page.textContent("#pixel-area"), String(expectedDicom.pixel_area));
    assert.ok(expectedDicom.area_mm2 !== null);
    assert.match(
      await page.textContent("#area-mm2") ?? "",
      new RegExp(`^${expectedDicom.area_mm2.toFixed(2)} mm²`),
    );
    await assertSameAsServerOverlay(
      page,
      new Uint8Array(
        await (await api(
          s.app,
          "/v1/models/lesion/segment?format=overlay&opacity=0",
          dicom,
          "application/dicom",
        )).arrayBuffer(),
      ),
    );
    assert.equal(await page.isDisabled("#dl-seg"), false);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#dl-seg")]);
    const path = await download.path();
    const seg = await Deno.readFile(path!);
    assert.equal(String.fromCharCode(...seg.subarray(128, 132)), "DICM");
    assert.deepEqual(errors, [], "no script errors on the page");
  },
});
