import assert from "node:assert/strict";
import { graphNpmPackages } from "../helpers/module_graph.ts";

Deno.test("the server's start-up loads neither the DICOM parser nor the ONNX protobuf schema (they load on first use)", async () => {
  const loaded = await graphNpmPackages("main.ts", { staticOnly: true });
  assert.ok(loaded.some((p) => p.startsWith("hono@")), loaded.join(", "));
  for (const lazy of ["dicom-parser@", "onnx-proto@", "protobufjs@", "dcmjs@"]) {
    assert.deepEqual(loaded.filter((p) => p.startsWith(lazy)), [], `${lazy} at start-up`);
  }
  // they are still in the graph, behind dynamic imports
  const all = await graphNpmPackages("main.ts");
  for (const lazy of ["dicom-parser@", "onnx-proto@"]) {
    assert.ok(all.some((p) => p.startsWith(lazy)), `${lazy} reachable`);
  }
});
