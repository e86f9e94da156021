/**
 * `deno task quantize -- --model models/<name>/<version> --calib <images> [options]`:
 * int8 (QDQ) quantisation of a model version, calibrated on a folder of images, on the
 * edge box itself (no Python, no GPU). See `args.ts` for the options.
 *
 * Exit codes: 0 done, 1 the model or images could not be used, 2 bad arguments.
 *
 * @module
 */
import { parseQuantizeArgs, USAGE, UsageError } from "./args.ts";
import { quantizeModelVersion } from "./quantize.ts";

if (!Deno.env.get("ONNXRUNTIME_NODE_INSTALL")) Deno.env.set("ONNXRUNTIME_NODE_INSTALL", "skip");

let options;
try {
  options = parseQuantizeArgs(Deno.args);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`quantize: ${err.message}\n\n${USAGE}`);
  Deno.exit(2);
}
if (!options) {
  console.log(USAGE);
  Deno.exit(0);
}
try {
  const result = await quantizeModelVersion({
    ...options,
    log: (m) => console.error(m),
    warn: (m) => console.error(`warning: ${m}`),
  });
  console.log(JSON.stringify(result.record, null, 2));
} catch (err) {
  console.error(`quantize: ${(err as Error).message}`);
  Deno.exit(1);
}
