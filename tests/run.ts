/**
 * The whole test suite, as `deno task test` runs it (and `.ci/run`): Deno tests, then the
 * Python distillation tests (pytest), then one plain summary line `N passed, N failed`.
 *
 * Counts come from JUnit XML reports, not from parsing human output. `--deno-only` /
 * `--python-only` run one half; further arguments go to `deno test` (e.g. a filter).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { ensureSystemPackages } from "./system_deps.ts";

const root = new URL("..", import.meta.url).pathname;
const args = Deno.args.filter((a) =>
  !a.startsWith("--deno-only") && !a.startsWith("--python-only")
);
const runDeno = !Deno.args.includes("--python-only");
const runPython = !Deno.args.includes("--deno-only");
const reports = await Deno.makeTempDir({ prefix: "tinyunet-tests-" });
const stillMissing = ensureSystemPackages();

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Counts test cases, failures/errors and skips in a JUnit XML report. */
function countJunit(xml: string): Counts {
  const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
  let failed = 0, skipped = 0;
  for (const c of cases) {
    if (/<(failure|error)\b/.test(c)) failed++;
    else if (/<skipped\b/.test(c)) skipped++;
  }
  return { passed: cases.length - failed - skipped, failed, skipped };
}

async function run(cmd: string[], env: Record<string, string> = {}): Promise<number> {
  console.log(`\n$ ${cmd.join(" ")}`);
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: root,
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

function findPython(): string | null {
  const candidates = [Deno.env.get("TINYUNET_PYTHON"), "/usr/bin/python3", "python3"].filter(
    Boolean,
  ) as string[];
  for (const py of candidates) {
    try {
      const out = new Deno.Command(py, {
        args: ["-c", "import torch, pytest"],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (out.success) return py;
    } catch { /* not installed */ }
  }
  return null;
}

const total: Counts = { passed: 0, failed: 0, skipped: 0 };
const add = (c: Counts) => {
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
};

if (runDeno) {
  const junit = `${reports}/deno.xml`;
  const code = await run(
    [
      Deno.execPath(),
      "test",
      "--allow-all",
      `--junit-path=${junit}`,
      ...(args.length ? args : ["tests/"]),
    ],
    { TINYUNET_LOG: "silent", ONNXRUNTIME_NODE_INSTALL: "skip" },
  );
  if (existsSync(junit)) add(countJunit(await Deno.readTextFile(junit)));
  else if (code !== 0) total.failed += 1; // the run died before writing a report
}

if (runPython && existsSync(`${root}/tests/distill`)) {
  const py = findPython();
  if (!py) {
    console.error(
      "no Python with torch and pytest found (apt-get install python3-torch python3-pytest); counting the Python suite as 1 failure",
    );
    total.failed += 1;
  } else {
    const junit = `${reports}/pytest.xml`;
    const code = await run([
      py,
      "-m",
      "pytest",
      "-q",
      "-p",
      "no:cacheprovider",
      `--junitxml=${junit}`,
      "tests/distill",
    ]);
    if (existsSync(junit)) add(countJunit(await Deno.readTextFile(junit)));
    else if (code !== 0) total.failed += 1;
  }
}

await Deno.remove(reports, { recursive: true });
if (stillMissing.length) {
  console.log(
    `(system packages missing: ${stillMissing.join(" ")}: the tests that need them fail)`,
  );
}
if (total.skipped) console.log(`(${total.skipped} skipped, not counted as passed)`);
console.log(`${total.passed} passed, ${total.failed} failed`);
Deno.exit(total.failed > 0 ? 1 : 0);
