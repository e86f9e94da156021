/**
 * The npm packages a module's graph resolves to, from `deno info --json` run at the
 * repository root with its config or another import map: every import, or (`staticOnly`)
 * only those evaluated when the entry is loaded, not behind a dynamic `import()`.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

interface GraphModule {
  specifier: string;
  npmPackage?: string;
  error?: string;
  dependencies?: { isDynamic?: boolean; code?: { specifier?: string } }[];
}

type Graph = { roots: string[]; modules: GraphModule[]; redirects?: Record<string, string> };

/** `name@version` of every npm package in `entry`'s graph (entry relative to the root). */
export async function graphNpmPackages(
  entry: string,
  options: { importMap?: string; staticOnly?: boolean } = {},
): Promise<string[]> {
  const graph = await moduleGraph(entry, options.importMap);
  const modules = options.staticOnly ? staticModules(graph) : graph.modules;
  return [...new Set(modules.flatMap((m) => (m.npmPackage ? [m.npmPackage] : [])))];
}

/** The repository's own files (paths relative to the root) `entry` loads through static imports. */
export async function staticLocalModules(entry: string): Promise<string[]> {
  const graph = await moduleGraph(entry);
  return staticModules(graph)
    .filter((m) => m.specifier.startsWith(ROOT.href))
    .map((m) => m.specifier.slice(ROOT.href.length))
    .sort();
}

async function moduleGraph(entry: string, importMap?: string): Promise<Graph> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "info",
      "--json",
      importMap ? `--import-map=${importMap}` : "--config=deno.json",
      entry,
    ],
    cwd: ROOT.pathname,
    env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as Graph;
  const broken = graph.modules.filter((m) => m.error).map((m) => `${m.specifier}: ${m.error}`);
  assert.deepEqual(broken, [], "every module of the graph resolves");
  return graph;
}

/** The modules reached from the roots through static imports only. */
function staticModules(graph: Graph): GraphModule[] {
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const resolve = (s: string) => graph.redirects?.[s] ?? s;
  const seen = new Set<string>();
  const queue = graph.roots.map(resolve);
  while (queue.length) {
    const specifier = queue.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code?.specifier) queue.push(resolve(dep.code.specifier));
    }
  }
  return graph.modules.filter((m) => seen.has(m.specifier));
}
