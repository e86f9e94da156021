import assert from "node:assert/strict";
import { graphNpmPackages } from "../helpers/module_graph.ts";

Deno.test("the server's start-up loads neither the DICOM parser, the ONNX protobuf schema nor the contour tracer (they load on first use)", async () => {
  for (const entry of ["main.ts", "serve.ts"]) await startsLean(entry);
});

async function startsLean(entry: string) {
  const loaded = await graphNpmPackages(entry, { staticOnly: true });
  assert.ok(loaded.some((p) => p.startsWith("hono@")), loaded.join(", "));
  for (const lazy of ["dicom-parser@", "onnx-proto@", "dcmjs@", "d3-contour@"]) {
    assert.deepEqual(loaded.filter((p) => p.startsWith(lazy)), [], `${entry}: ${lazy} at start-up`);
  }
  // they are still in the graph, behind dynamic imports
  const all = await graphNpmPackages(entry);
  for (const lazy of ["dicom-parser@", "onnx-proto@", "d3-contour@"]) {
    assert.ok(all.some((p) => p.startsWith(lazy)), `${lazy} reachable`);
  }
}
