/**
 * The npm packages a module's graph resolves to (static and dynamic imports), from
 * `deno info --json` run at the repository root with its config or another import map.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** `name@version` of every npm package in `entry`'s graph (entry relative to the root). */
export async function graphNpmPackages(
  entry: string,
  options: { importMap?: string } = {},
): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "info",
      "--json",
      options.importMap ? `--import-map=${options.importMap}` : "--config=deno.json",
      entry,
    ],
    cwd: ROOT.pathname,
    env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { npmPackage?: string; error?: string; specifier: string }[];
  };
  const broken = graph.modules.filter((m) => m.error).map((m) => `${m.specifier}: ${m.error}`);
  assert.deepEqual(broken, [], "every module of the graph resolves");
  return [...new Set(graph.modules.flatMap((m) => (m.npmPackage ? [m.npmPackage] : [])))];
}
