import assert from "node:assert/strict";

const ROOT = new URL("../../../", import.meta.url);

/** npm packages a module imports, directly or through local modules (`deno info --json`). */
async function npmPackagesOf(module: URL): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", new URL("deno.json", ROOT).pathname, module.pathname],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { specifier: string; code?: { specifier?: string; error?: string } }[];
    }[];
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
      if (dep.code?.error) throw new Error(`${s} → ${dep.specifier}: ${dep.code.error}`);
      const target = dep.code?.specifier;
      if (!target) continue;
      if (target.startsWith("npm:")) npm.add(target);
      else stack.push(target);
    }
  }
  return [...npm];
}

Deno.test("the engine host Worker's module graph loads no validation library (its settings come in the load message)", async () => {
  const packages = await npmPackagesOf(
    new URL("../../../src/engines/host_worker.ts", import.meta.url),
  );
  assert.ok(packages.some((p) => /^npm:\/?onnxruntime-node@/.test(p)), packages.join(", "));
  assert.deepEqual(packages.filter((p) => /zod/.test(p)), []);
});
