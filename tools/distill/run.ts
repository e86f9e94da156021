/**
 * `deno task distill -- <args>`: runs `python -m tools.distill <args>` from the repo root
 * with the first Python that can `import torch`: $TINYUNET_PYTHON, then python3 on PATH,
 * then /usr/bin/python3.  Exits with Python's exit code.
 */
const repoRoot = new URL("../../", import.meta.url).pathname;

async function hasTorch(python: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

const candidates = [Deno.env.get("TINYUNET_PYTHON"), "python3", "/usr/bin/python3"]
  .filter((p): p is string => !!p);
let python: string | undefined;
for (const c of candidates) {
  if (await hasTorch(c)) {
    python = c;
    break;
  }
}
if (!python) {
  console.error(
    `distill: no Python with PyTorch found (tried ${candidates.join(", ")}).\n` +
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
