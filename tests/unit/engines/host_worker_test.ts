import assert from "node:assert/strict";

/** npm packages in a module's static import graph (`deno info --json`). */
async function staticNpmPackages(module: URL): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", module.pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const npm = new Set<string>();
  const stack = [...info.roots];
  while (stack.length) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const dep of bySpecifier.get(s)?.dependencies ?? []) {
      const target = dep.code?.specifier;
      if (!target) continue;
      if (target.startsWith("npm:")) npm.add(target);
      else stack.push(target);
    }
  }
  return [...npm];
}

Deno.test("the engine host Worker's module graph loads no validation library (its settings come in the load message)", async () => {
  const packages = await staticNpmPackages(
    new URL("../../../src/engines/host_worker.ts", import.meta.url),
  );
  assert.deepEqual(packages.filter((p) => /zod/.test(p)), []);
});
