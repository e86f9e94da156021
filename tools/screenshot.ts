/// <reference lib="dom" />
/**
 * Makes docs/screenshot.png: the browser page with a segmentation result, in headless
 * Chromium (Debian's, via playwright-core) against the real app on a free port.
 *
 *   deno run -A tools/screenshot.ts [--models DIR] [--image FILE] [--out docs/screenshot.png]
 *
 * Models default to TINYUNET_MODELS or the shipped repository; the image to the committed
 * ISIC sample. Fails if the PNG is 300 KB or more.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createApp, loadConfig } from "../mod.ts";
import { launchChromium } from "../lib/browser.ts";

const MAX_BYTES = 300 * 1024;
const root = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string" },
    image: { type: "string", default: `${root}tests/fixtures/images/isic_ISIC_0000011.png` },
    out: { type: "string", default: `${root}docs/screenshot.png` },
  },
});

Deno.env.set("TINYUNET_LOG", Deno.env.get("TINYUNET_LOG") ?? "silent");
const env = {
  ...Deno.env.toObject(),
  ...(values.models ? { TINYUNET_MODELS: values.models } : {}),
};
const server = createApp(loadConfig(env));
await server.ready;
const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, server.app.fetch);
try {
  await using chromium = await launchChromium();
  const page = await chromium.browser.newPage({
    viewport: { width: 960, height: 720 },
    deviceScaleFactor: 1,
  });
  await page.goto(`http://127.0.0.1:${http.addr.port}/`);
  await page.waitForSelector("#model option", { state: "attached" });
  await page.setInputFiles("#file", values.image!);
  await page.click("#segment");
  await page.waitForFunction(
    () => /^(Done|Segmentation failed)/.test(document.getElementById("status")?.textContent ?? ""),
    null,
    { timeout: 120_000 },
  );
  const status = await page.textContent("#status");
  if (!status?.startsWith("Done")) throw new Error(`the page did not segment: ${status}`);
  const png = await page.screenshot({ fullPage: true, type: "png" });
  if (png.length >= MAX_BYTES) {
    throw new Error(`screenshot is ${png.length} bytes; keep it under ${MAX_BYTES}`);
  }
  await Deno.writeFile(values.out!, png);
  console.log(`wrote ${values.out} (${png.length} bytes): ${status}`);
} finally {
  await http.shutdown();
  await server.registry.close();
}
