/**
 * `deno task evaluate -- --model models/<name>/<version>[/model.int8.onnx] --data <set>
 * [--split test] [--engine native|wasm|…] [--csv out.csv] [--write-card]`: Dice, IoU, HD95,
 * precision and recall of the deployed model through the serving path, per image and
 * averaged. See `args.ts` for the options.
 *
 * Exit codes: 0 done, 1 the model or data could not be used, 2 bad arguments.
 *
 * @module
 */
import { parseEvaluateArgs, USAGE, UsageError } from "./args.ts";
import { runEvaluation } from "./run.ts";

if (!Deno.env.get("ONNXRUNTIME_NODE_INSTALL")) Deno.env.set("ONNXRUNTIME_NODE_INSTALL", "skip");
if (!Deno.env.get("TINYUNET_LOG")) Deno.env.set("TINYUNET_LOG", "silent");

let args;
try {
  args = parseEvaluateArgs(Deno.args);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`evaluate: ${err.message}\n\n${USAGE}`);
  Deno.exit(2);
}
if (!args) {
  console.log(USAGE);
  Deno.exit(0);
}
try {
  const summary = await runEvaluation(args, (line) => console.error(line));
  console.log(JSON.stringify(summary, null, 2));
} catch (err) {
  console.error(`evaluate: ${(err as Error).message}`);
  Deno.exit(1);
}
