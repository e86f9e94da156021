/**
 * `deno task bundle -- --arch arm64 --out dir`: lays out a self-contained bundle for a
 * Linux box (see bundle.ts). Options: `--arch arm64|x64` (default: this host's),
 * `--out DIR` (required, must be empty or absent), `--models DIR` (default: the shipped
 * models), `--deno PATH` (a target Deno binary instead of fetching it with npm).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type BundleArch, hostArch, makeBundle } from "./bundle.ts";

const { values } = parseArgs({
  args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
  options: {
    arch: { type: "string" },
    out: { type: "string" },
    models: { type: "string" },
    deno: { type: "string" },
    help: { type: "boolean" },
  },
});

if (values.help || !values.out) {
  console.log(
    "usage: deno task bundle -- --out DIR [--arch arm64|x64] [--models DIR] [--deno PATH]",
  );
  Deno.exit(values.help ? 0 : 2);
}
const arch = values.arch ?? hostArch();
if (arch !== "arm64" && arch !== "x64") {
  console.error(`--arch ${arch}: expected arm64 or x64`);
  Deno.exit(2);
}
try {
  const manifest = await makeBundle({
    arch: arch as BundleArch,
    out: values.out,
    models: values.models,
    deno: values.deno,
    log: (line) => console.error(`bundle: ${line}`),
  });
  console.log(JSON.stringify(manifest, null, 2));
} catch (err) {
  console.error(`bundle failed: ${(err as Error).message}`);
  Deno.exit(1);
}
