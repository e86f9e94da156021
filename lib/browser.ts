/**
 * Headless Chromium for page tests and screenshots: Debian's `chromium` driven by
 * playwright-core (no browser download). A missing browser is an error that says how to
 * install it, never a skip.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Where Chromium is looked for: `$CHROMIUM_PATH`, then Debian's path. */
export function chromiumPath(): string {
  const candidates = [
    Deno.env.get("CHROMIUM_PATH"),
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
  ].filter(Boolean) as string[];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `Chromium not found (looked at ${
        candidates.join(", ")
      }): install it with "apt-get install -y chromium" ` +
        "or set CHROMIUM_PATH; the page tests need a real browser",
    );
  }
  return found;
}

/** Launches headless Chromium (playwright gives it a fresh temporary profile); dispose to close it. */
export async function launchChromium(): Promise<
  { browser: Browser; [Symbol.asyncDispose](): Promise<void> }
> {
  const executablePath = chromiumPath();
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    browser,
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  };
}
