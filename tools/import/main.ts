/**
 * `deno task import -- <model.onnx> --name <name> [--data <labelled images>] [options]`:
 * turns a single-input binary-segmentation ONNX (with or without external data, any file
 * names) into a model repository version with a card; see `args.ts` for the options and
 * `import.ts` for what it does.
 *
 * Exit codes: 0 imported, 1 refused (the reason on stderr), 2 bad arguments.
 *
 * @module
 */
import { parseImportArgs, USAGE, UsageError } from "./args.ts";
import { ImportError } from "./graph_facts.ts";
import { importModel } from "./import.ts";

if (!Deno.env.get("ONNXRUNTIME_NODE_INSTALL")) Deno.env.set("ONNXRUNTIME_NODE_INSTALL", "skip");
if (!Deno.env.get("TINYUNET_LOG")) Deno.env.set("TINYUNET_LOG", "silent");

let args;
try {
  args = parseImportArgs(Deno.args);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`import: ${err.message}\n\n${USAGE}`);
  Deno.exit(2);
}
if (!args) {
  console.log(USAGE);
  Deno.exit(0);
}
try {
  const result = await importModel(args, (line) => console.error(line));
  console.log(
    JSON.stringify({ dir: result.dir, card: result.card, warnings: result.warnings }, null, 2),
  );
} catch (err) {
  const known = err instanceof ImportError;
  console.error(`import: ${known ? "refused: " : ""}${(err as Error).message}`);
  Deno.exit(1);
}
