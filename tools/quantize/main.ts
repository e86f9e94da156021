/**
 * `deno task quantize -- --model models/<name>/<version> --calib <images> [options]`:
 * int8 (QDQ) quantisation of a model version, calibrated on a folder of images, on the
 * edge box itself (no Python, no GPU). See `args.ts` for the options.
 *
 * Exit codes: 0 done, 1 the model or images could not be used, 2 bad arguments.
 *
 * @module
 */
import { runTool } from "../cli_args.ts";
import { parseQuantizeArgs, USAGE } from "./args.ts";
import { quantizeModelVersion } from "./quantize.ts";

if (!Deno.env.get("ONNXRUNTIME_NODE_INSTALL")) Deno.env.set("ONNXRUNTIME_NODE_INSTALL", "skip");

await runTool("quantize", USAGE, parseQuantizeArgs, async (options) => {
  const result = await quantizeModelVersion({
    ...options,
    log: (m) => console.error(m),
    warn: (m) => console.error(`warning: ${m}`),
  });
  return result.record;
});
