/**
 * `deno task distill -- <args>`: runs `python -m tools.distill <args>` from the repo root
 * with the first Python that can `import torch`: $TINYUNET_PYTHON, then python3 on PATH,
 * then /usr/bin/python3 (lib/python.ts).  Exits with Python's exit code.
 *
 * @module
 */
import { findPython, pythonCandidates } from "../../lib/python.ts";

const repoRoot = new URL("../../", import.meta.url).pathname;

const python = findPython(["torch"]);
if (!python) {
  console.error(
    `distill: no Python with PyTorch found (tried ${pythonCandidates().join(", ")}).\n` +
      "Install PyTorch (e.g. Debian: apt-get install python3-torch python3-scipy python3-pil " +
      "python3-onnx) or set TINYUNET_PYTHON=/path/to/python.",
  );
  Deno.exit(127);
}
// `deno task distill -- args` passes the "--" through; drop it.
const args = Deno.args[0] === "--" ? Deno.args.slice(1) : [...Deno.args];
const env = { ...Deno.env.toObject(), ONNXRUNTIME_NODE_INSTALL: "skip" };
const child = new Deno.Command(python, {
  args: ["-m", "tools.distill", ...args],
  cwd: repoRoot,
  env,
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
const status = await child.status;
Deno.exit(status.code);
