/**
 * Writes `deploy/edge/import_map.json`: the project's imports (deno.json) with the heavy
 * engines mapped to a stub, so an edge bundle (`deno info`, `supabase functions deploy
 * --import-map`) carries only tfjs-wasm. Run after changing deno.json:
 *
 *     deno run -A deploy/edge/import_map.ts
 *
 * (tests/e2e/deploy_test.ts fails when the file is stale.)
 *
 * @module
 */

/** Packages replaced by the stub in edge bundles. */
export const LEFT_OUT = [
  "onnxruntime-node",
  "onnxruntime-web",
  "onnxruntime-web/webgpu",
  "playwright-core",
  "autocannon",
  "kubernetes-models",
  "kubernetes-models/",
  // the DICOM node's DIMSE library: edge functions cannot listen on or dial DICOM ports
  "dcmjs-dimse",
];

/** The edge import map for a deno.json's imports. */
export function edgeImportMap(
  imports: Record<string, string>,
): { imports: Record<string, string> } {
  const out: Record<string, string> = {};
  for (const [name, target] of Object.entries(imports)) {
    if (LEFT_OUT.includes(name)) {
      out[name] = name.endsWith("/") ? "./stubs/" : "./stubs/unavailable.ts";
    } else out[name] = target.startsWith(".") ? `../../${target.replace(/^\.\//, "")}` : target;
  }
  return { imports: out };
}

if (import.meta.main) {
  const root = new URL("../../deno.json", import.meta.url);
  const { imports } = JSON.parse(await Deno.readTextFile(root));
  const file = new URL("./import_map.json", import.meta.url);
  await Deno.writeTextFile(file, JSON.stringify(edgeImportMap(imports), null, 2) + "\n");
  console.log(`wrote ${file.pathname}`);
}
