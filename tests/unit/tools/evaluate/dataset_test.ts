import assert from "node:assert/strict";
import { join } from "node:path";
import { encode as encodePng } from "fast-png";
import { DataError, listPairs, readMask } from "../../../../tools/evaluate/dataset.ts";

function png(width: number, height: number, values: number[], channels: 1 | 3 = 1): Uint8Array {
  const data = Uint8Array.from(
    { length: width * height * channels },
    (_, i) => values[Math.floor(i / channels) % values.length],
  );
  return encodePng({ width, height, data, channels, depth: 8 });
}

async function tree(files: Record<string, Uint8Array>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tinyunet-data-" });
  for (const [path, bytes] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeFile(join(root, path), bytes);
  }
  return root;
}

Deno.test("pairs are matched by id and sorted", async () => {
  const m = png(2, 2, [0, 255]);
  const root = await tree({
    "test/images/b.png": m,
    "test/images/a.jpg": m,
    "test/masks/a.png": m,
    "test/masks/b.png": m,
  });
  try {
    const pairs = await listPairs(root, "test");
    assert.deepEqual(pairs.map((p) => p.id), ["a", "b"]);
    assert.ok(pairs[0].image.endsWith("a.jpg") && pairs[0].mask.endsWith("a.png"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("missing, unknown, unpaired and empty splits are clear errors", async () => {
  const m = png(2, 2, [0]);
  const root = await tree({
    "test/images/a.png": m,
    "test/masks/b.png": m,
    "val/images/x.txt": m,
    "val/masks/y.txt": m,
  });
  try {
    await assert.rejects(
      listPairs(root, "train"),
      (e: Error) => e instanceof DataError && /missing split folder/.test(e.message),
    );
    await assert.rejects(listPairs(root, "dev"), /unknown split "dev"/);
    await assert.rejects(
      listPairs(root, "test"),
      /images without mask \[a\], masks without image \[b\]/,
    );
    await assert.rejects(listPairs(root, "val"), /holds no image\/mask pairs/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("masks: 0/255 and 0/1 read as 0/1; grey values or differing colours are refused", async () => {
  const root = await tree({
    "a.png": png(3, 1, [0, 255, 0]),
    "b.png": png(3, 1, [1, 0, 1]),
    "grey.png": png(3, 1, [0, 128, 255]),
    "colour.png": encodePng({
      width: 1,
      height: 1,
      data: Uint8Array.of(255, 0, 0),
      channels: 3,
      depth: 8,
    }),
    "rgb.png": png(2, 1, [0, 255], 3),
  });
  try {
    assert.deepEqual([...(await readMask(join(root, "a.png"))).data], [0, 1, 0]);
    assert.deepEqual([...(await readMask(join(root, "b.png"))).data], [1, 0, 1]);
    assert.deepEqual([...(await readMask(join(root, "rgb.png"))).data], [0, 1]);
    await assert.rejects(readMask(join(root, "grey.png")), /not binary: values 0, 128, 255/);
    await assert.rejects(readMask(join(root, "colour.png")), /colour channels that differ/);
    await assert.rejects(readMask(join(root, "missing.png")), DataError);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
