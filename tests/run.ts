/**
 * The whole test suite, as `deno task test` runs it (and `.ci/run`): the unit tests
 * (`tests/unit`, in-process, test files in parallel), the end-to-end tests (`tests/e2e`:
 * spawned servers and tools, whole models on every engine; one file at a time), then the
 * Python distillation tests (pytest), then one plain summary line `N passed, N failed`.
 *
 * Counts come from JUnit XML reports, not from parsing human output. `--unit` runs the unit
 * tests only (`deno task test:unit`); `--deno-only` / `--python-only` run one half; further
 * arguments go to one `deno test` run in place of the folders (e.g. a file or a filter).
 * System packages are installed by `deno task setup` (which `deno task test` runs first);
 * here they are only checked, to say why the tests that need them fail.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { findPython } from "../lib/python.ts";
import { missingPackages } from "../tools/setup.ts";

const root = new URL("..", import.meta.url).pathname;
const FLAGS = ["--deno-only", "--python-only", "--unit"];
const args = Deno.args.filter((a) => !FLAGS.includes(a));
const unitOnly = Deno.args.includes("--unit");
const runDeno = !Deno.args.includes("--python-only");
const runPython = !Deno.args.includes("--deno-only") && !unitOnly;
const reports = await Deno.makeTempDir({ prefix: "tinyunet-tests-" });
const stillMissing = unitOnly ? [] : missingPackages();

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** A failed test case: its file (class) and name, and the start of what it said. */
interface Failure {
  where: string;
  said: string;
}

const failures: Failure[] = [];

/** The text of an XML attribute or element body, entities replaced. */
function unescapeXml(text: string): string {
  return text.replace(
    /&(lt|gt|quot|apos|amp|#(\d+));/g,
    (_, name: string, code?: string) =>
      code
        ? String.fromCodePoint(Number(code))
        : ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" } as Record<string, string>)[name],
  );
}

/**
 * Counts test cases, failures/errors and skips in a JUnit XML report; the failed cases go to
 * `failures`, to be named again above the summary line (CI keeps only the log's tail).
 */
function countJunit(xml: string): Counts {
  const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
  let failed = 0, skipped = 0;
  for (const c of cases) {
    const failure = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(c);
    if (failure) {
      failed++;
      const attr = (name: string) =>
        unescapeXml(new RegExp(`\\b${name}="([^"]*)"`).exec(c)?.[1] ?? "");
      const message = unescapeXml(failure[3] ?? /message="([^"]*)"/.exec(failure[2])?.[1] ?? "");
      failures.push({
        where: `${attr("classname")} => ${attr("name")}`,
        said: message.split("\n").slice(0, 12).join("\n"),
      });
    } else if (/<skipped\b/.test(c)) skipped++;
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

const total: Counts = { passed: 0, failed: 0, skipped: 0 };
const add = (c: Counts) => {
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
};

/** One `deno test` run over `paths`, counted from its JUnit report. */
async function denoTest(name: string, paths: string[], parallel: boolean): Promise<void> {
  const junit = `${reports}/${name}.xml`;
  const code = await run(
    [
      Deno.execPath(),
      "test",
      "--allow-all",
      ...(parallel ? ["--parallel"] : []),
      `--junit-path=${junit}`,
      ...paths,
    ],
    { TINYUNET_LOG: "silent", ONNXRUNTIME_NODE_INSTALL: "skip" },
  );
  if (existsSync(junit)) add(countJunit(await Deno.readTextFile(junit)));
  else if (code !== 0) total.failed += 1; // the run died before writing a report
}

if (runDeno) {
  if (args.length) await denoTest("deno", args, false);
  else {
    await denoTest("unit", ["tests/unit/"], true);
    if (!unitOnly) await denoTest("e2e", ["tests/e2e/"], false);
  }
}

if (runPython && existsSync(`${root}/tests/distill`)) {
  const py = findPython(["torch", "pytest"]);
  if (!py) {
    console.error(
      "no Python with torch and pytest found (deno task setup installs them); counting the Python suite as 1 failure",
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
if (failures.length) {
  console.log(`\nfailed tests (${failures.length}):`);
  for (const f of failures) console.log(`- ${f.where}\n${f.said.replace(/^/gm, "    ")}`);
}
if (total.skipped) console.log(`(${total.skipped} skipped, not counted as passed)`);
console.log(`${total.passed} passed, ${total.failed} failed`);
Deno.exit(total.failed > 0 ? 1 : 0);
