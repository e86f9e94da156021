import assert from "node:assert/strict";
import { join } from "node:path";
import { unetModel } from "../../../lib/onnx_builder.ts";
import {
  inlineExternalData,
  readExternalData,
  relocateExternalData,
} from "../../../src/onnx/external_data.ts";
import { inspectModel } from "../../../src/onnx/inspect.ts";
import { decodeModel, encodeModel, type onnx } from "../../../src/onnx/proto.ts";
import { modelSha256, sha256Hex } from "../../../src/models/hash.ts";

/** A builder U-Net with its weights split over two external files (one per half). */
function splitModel(): { model: onnx.IModelProto; files: Record<string, Uint8Array> } {
  const model = decodeModel(unetModel({ width: 2, depth: 1 }));
  const parts: Record<string, Uint8Array[]> = { "a.bin": [], "b.bin": [] };
  const sizes: Record<string, number> = { "a.bin": 0, "b.bin": 0 };
  model.graph!.initializer!.forEach((t, i) => {
    const file = i % 2 ? "b.bin" : "a.bin";
    const bytes = new Uint8Array(t.rawData!);
    t.externalData = [
      { key: "location", value: file },
      { key: "offset", value: String(sizes[file]) },
      { key: "length", value: String(bytes.length) },
    ];
    t.dataLocation = 1;
    t.rawData = new Uint8Array(0);
    parts[file].push(bytes);
    sizes[file] += bytes.length;
  });
  const files: Record<string, Uint8Array> = {};
  for (const [name, list] of Object.entries(parts)) {
    files[name] = new Uint8Array(sizes[name]);
    list.reduce((o, b) => (files[name].set(b, o), o + b.length), 0);
  }
  return { model, files };
}

Deno.test("external data: two files relocate into one model.onnx.data that inlines to the same weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { model, files } = splitModel();
    for (const [name, data] of Object.entries(files)) await Deno.writeFile(join(dir, name), data);
    await Deno.writeFile(join(dir, "export.onnx"), encodeModel(model));
    const info = inspectModel(await Deno.readFile(join(dir, "export.onnx")));
    assert.deepEqual(info.externalData.sort(), ["a.bin", "b.bin"]);
    const read = await readExternalData(dir, "export.onnx", info.externalData);

    const reference = structuredClone(model);
    inlineExternalData(reference, read.files);
    const relocated = structuredClone(model);
    const data = relocateExternalData(relocated, read.files, "model.onnx.data");
    await Deno.writeFile(join(dir, "model.onnx"), encodeModel(relocated));
    await Deno.writeFile(join(dir, "model.onnx.data"), data);
    const graph = await Deno.readFile(join(dir, "model.onnx"));
    assert.deepEqual(inspectModel(graph).externalData, ["model.onnx.data"]);
    const again = decodeModel(graph);
    inlineExternalData(
      again,
      (await readExternalData(dir, "model.onnx", ["model.onnx.data"])).files,
    );
    assert.deepEqual(
      again.graph!.initializer!.map((t) => [...t.rawData!]),
      reference.graph!.initializer!.map((t) => [...t.rawData!]),
    );

    const both = new Uint8Array(graph.length + data.length);
    both.set(graph);
    both.set(data, graph.length);
    assert.equal(await modelSha256(dir, "model.onnx"), await sha256Hex(both));
    const plain = unetModel({ width: 2, depth: 1 });
    await Deno.writeFile(join(dir, "plain.onnx"), plain);
    assert.equal(await modelSha256(dir, "plain.onnx"), await sha256Hex(plain));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("external data: a renamed single data file is found; otherwise the expected name is given", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "model.onnx.data"), new Uint8Array([1, 2, 3]));
    const found = await readExternalData(dir, "model.onnx", ["ref.onnx.data"]);
    assert.deepEqual(found.renamed, { expected: "ref.onnx.data", found: "model.onnx.data" });
    assert.equal(found.files[0].location, "ref.onnx.data");
    await assert.rejects(
      readExternalData(dir, "other.onnx", ["ref.onnx.data"]),
      /other\.onnx expects "ref\.onnx\.data" \(the file name stored inside the graph\); other\.onnx\.data is not there either/,
    );
    // with two named files a rename cannot be guessed
    await assert.rejects(
      readExternalData(dir, "model.onnx", ["a.bin", "b.bin"]),
      /expects "a\.bin", "b\.bin"/,
    );
    await assert.rejects(
      readExternalData(dir, "model.onnx", ["../escape.bin"]),
      /leaves the model folder/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
