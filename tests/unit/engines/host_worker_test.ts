import assert from "node:assert/strict";
import { graphNpmPackages } from "../../helpers/module_graph.ts";

Deno.test("the engine host Worker's module graph loads no validation library (its settings come in the load message)", async () => {
  const packages = await graphNpmPackages("src/engines/host_worker.ts");
  assert.ok(packages.some((p) => p.startsWith("onnxruntime-node@")), packages.join(", "));
  assert.deepEqual(packages.filter((p) => p.startsWith("zod@")), []);
});
