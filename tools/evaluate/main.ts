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
import { runTool } from "../cli_args.ts";
import { parseEvaluateArgs, USAGE } from "./args.ts";
import { runEvaluation } from "./run.ts";

if (!Deno.env.get("ONNXRUNTIME_NODE_INSTALL")) Deno.env.set("ONNXRUNTIME_NODE_INSTALL", "skip");
if (!Deno.env.get("TINYUNET_LOG")) Deno.env.set("TINYUNET_LOG", "silent");

await runTool(
  "evaluate",
  USAGE,
  parseEvaluateArgs,
  (args) => runEvaluation(args, (line) => console.error(line)),
);
