import assert from "node:assert/strict";
import { unetModel } from "../../../lib/onnx_builder.ts";
import { inspectModel } from "../../../src/onnx/inspect.ts";
import {
  inspectCachePath,
  inspectModelCached,
  INSPECTOR_FILES,
  pruneEntries,
} from "../../../src/onnx/inspect_cache.ts";
import { staticLocalModules } from "../../helpers/module_graph.ts";

Deno.test("inspectModelCached answers as inspectModel and keeps the answer in the cache folder", async () => {
  const folder = await Deno.makeTempDir();
  try {
    const bytes = unetModel({ width: 2, depth: 1 });
    const info = await inspectModelCached(bytes, folder);
    assert.deepEqual(info, inspectModel(bytes));
    const path = inspectCachePath(bytes, folder)!;
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), info);
    // a later start reads the entry: an edited entry (same shape) is what it answers
    await Deno.writeTextFile(path, JSON.stringify({ ...info, producer: "from the cache" }));
    assert.equal((await inspectModelCached(bytes, folder)).producer, "from the cache");
    // other bytes have another entry
    const other = unetModel({ width: 4, depth: 1 });
    assert.notEqual(inspectCachePath(other, folder), path);
    assert.equal(
      (await inspectModelCached(other, folder)).parameterCount,
      inspectModel(other).parameterCount,
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("inspectModelCached works out a damaged entry again and rewrites it", async () => {
  const folder = await Deno.makeTempDir();
  try {
    const bytes = unetModel({ width: 2, depth: 1 });
    const path = inspectCachePath(bytes, folder)!;
    for (const damaged of ["{not json", JSON.stringify({ opset: "17" }), "null"]) {
      await Deno.writeTextFile(path, damaged);
      assert.deepEqual(await inspectModelCached(bytes, folder), inspectModel(bytes));
      assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), inspectModel(bytes));
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("inspectModelCached without a folder, in a folder it cannot write, and on bytes that are not ONNX", async () => {
  const bytes = unetModel({ width: 2, depth: 1 });
  assert.equal(inspectCachePath(bytes, null), null);
  assert.deepEqual(await inspectModelCached(bytes, null), inspectModel(bytes));
  const file = await Deno.makeTempFile(); // a file where the folder should be: writes fail
  try {
    assert.deepEqual(await inspectModelCached(bytes, file), inspectModel(bytes));
    const folder = await Deno.makeTempDir();
    await assert.rejects(
      () => inspectModelCached(new Uint8Array([1, 2, 3]), folder),
      /not an ONNX model/,
    );
    assert.deepEqual([...Deno.readDirSync(folder)], [], "a failure is not cached");
    await Deno.remove(folder);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("the inspection cache's key covers every module the inspector loads", async () => {
  const loaded = await staticLocalModules("src/onnx/inspect.ts");
  assert.deepEqual(loaded, INSPECTOR_FILES.map((f) => `src/onnx/${f}`).sort());
});

Deno.test("pruneEntries keeps the newest entries and old temporary files go; other files stay", async () => {
  const folder = await Deno.makeTempDir();
  try {
    const names = [1, 2, 3, 4, 5].map((k) => `model-info-${k}.json`);
    for (const [k, name] of names.entries()) {
      await Deno.writeTextFile(`${folder}/${name}`, "{}");
      await Deno.utime(`${folder}/${name}`, 1000 + k, 1000 + k); // 5 is the newest
    }
    await Deno.writeTextFile(`${folder}/model-info-6.json.abc.tmp`, "");
    await Deno.utime(`${folder}/model-info-6.json.abc.tmp`, 1000, 1000);
    await Deno.writeTextFile(`${folder}/model-info-7.json.def.tmp`, ""); // being written now
    await Deno.writeTextFile(`${folder}/native-probe-x.json`, "{}");
    await pruneEntries(folder, 2);
    const left = [...Deno.readDirSync(folder)].map((e) => e.name).sort();
    assert.deepEqual(left, [
      "model-info-4.json",
      "model-info-5.json",
      "model-info-7.json.def.tmp",
      "native-probe-x.json",
    ]);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
