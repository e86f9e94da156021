/**
 * The house's floors, checked from the code's own imports: the server (`src/`, and the
 * entry points that start it) never imports offline code (`lib/`, `tools/`, `bench/`) or
 * tests; `lib/` serves tools, bench and tests but imports only `src/` and itself; tools and
 * the benchmark never import tests. Relative imports and `new URL(…, import.meta.url)`
 * references are read from the source text.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;

/** What each top-level part may not reach. */
const NEVER: Record<string, string[]> = {
  "src": ["lib", "tools", "bench", "tests", "deploy"],
  "main.ts": ["lib", "tools", "bench", "tests"],
  "serve.ts": ["lib", "tools", "bench", "tests"],
  "mod.ts": ["lib", "tools", "bench", "tests"],
  "lib": ["tools", "bench", "tests", "deploy"],
  "tools": ["bench", "tests", "deploy"],
  "bench": ["tests", "deploy"],
};

async function* sources(path: string): AsyncGenerator<string> {
  const info = await Deno.stat(join(ROOT, path));
  if (info.isFile) {
    if (/\.(ts|js)$/.test(path)) yield path;
    return;
  }
  for await (const e of Deno.readDir(join(ROOT, path))) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    yield* sources(join(path, e.name));
  }
}

const SPEC = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\bnew URL\(\s*)["'`](\.{1,2}\/[^"'`$]*)/g;

Deno.test("layering: the server imports no offline code or tests; lib, tools and bench no tests", async () => {
  const broken: string[] = [];
  let files = 0;
  for (const [part, never] of Object.entries(NEVER)) {
    for await (const file of sources(part)) {
      files++;
      const text = await Deno.readTextFile(join(ROOT, file));
      for (const [, spec] of text.matchAll(SPEC)) {
        const target = relative(ROOT, normalize(join(ROOT, dirname(file), spec)));
        const top = target.split("/")[0];
        if (never.includes(top)) broken.push(`${file} → ${target}`);
      }
    }
  }
  assert.ok(files > 100, `read ${files} files`);
  assert.deepEqual(broken, []);
});
