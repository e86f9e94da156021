/**
 * wrk (Debian `wrk`) helpers for the load suites: a Lua script that POSTs one image.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { ISIC_SAMPLE } from "./images.ts";

/**
 * Writes a wrk script into `dir` that POSTs `image` (default: the ISIC sample PNG) as
 * `image/png`; returns its path.
 */
export async function wrkPostScript(dir: string, image: URL = ISIC_SAMPLE): Promise<string> {
  const script = `${dir}/post.lua`;
  await Deno.writeTextFile(
    script,
    `local f = io.open("${fileURLToPath(image)}", "rb")\n` +
      `wrk.method = "POST"\nwrk.body = f:read("*a")\nf:close()\n` +
      `wrk.headers["Content-Type"] = "image/png"\n`,
  );
  return script;
}
