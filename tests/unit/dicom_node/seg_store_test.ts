import assert from "node:assert/strict";
import { join } from "node:path";
import { parseKey, type SegKey, SegStore } from "../../../src/dicom_node/seg_store.ts";

const bytes = (n: number) => new Uint8Array([n, n, n, n]);

Deno.test("SEG store: queued per destination, survives a restart, acknowledged ones leave", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-store-" });
  try {
    const store = new SegStore(dir, ["dimse", "dicomweb"], 100, 10);
    const a = await store.put(bytes(1), "1.2.3", "9.9.1", 1000);
    const b = await store.put(bytes(2), "1.2.4", "9.9.2", 2000);
    assert.deepEqual(store.pending("dimse").map((k) => k.segUid), ["1.2.3", "1.2.4"]);
    assert.deepEqual(await store.read("dicomweb", b), bytes(2));
    await store.delivered("dimse", a);
    await store.rejected("dicomweb", a);
    assert.deepEqual(await store.find("1.2.3"), bytes(1), "retained for WADO-RS");

    const reopened = new SegStore(dir, ["dimse", "dicomweb"], 100, 10);
    await reopened.open();
    assert.deepEqual(reopened.pending("dimse").map((k) => k.segUid), ["1.2.4"]);
    assert.deepEqual(reopened.pending("dicomweb").map((k) => k.segUid), ["1.2.4"]);
    assert.deepEqual(reopened.failed("dicomweb").map((k) => k.segUid), ["1.2.3"]);
    assert.equal(reopened.pending("dimse")[0].receivedMs, 2000);
    assert.deepEqual(await reopened.find("1.2.4"), bytes(2));
    assert.equal(await reopened.find("7.7"), undefined);

    // the README's way to send a refused SEG again: its file back to queue/, then a restart
    await Deno.rename(
      join(dir, "failed", "dicomweb", `${a.key}.dcm`),
      join(dir, "queue", "dicomweb", `${a.key}.dcm`),
    );
    const again = new SegStore(dir, ["dimse", "dicomweb"], 100, 10);
    await again.open();
    assert.deepEqual(again.pending("dicomweb").map((k) => k.segUid), ["1.2.3", "1.2.4"]);
    assert.deepEqual(again.failed("dicomweb"), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SEG store: past the bound the oldest is dropped and reported; retention prunes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-store-" });
  try {
    const dropped: [string, SegKey][] = [];
    const store = new SegStore(dir, ["dimse"], 3, 2, (d, k) => dropped.push([d, k]));
    for (let i = 1; i <= 5; i++) await store.put(bytes(i), `1.2.${i}`, `9.${i}`, i);
    assert.deepEqual(store.pending("dimse").map((k) => k.segUid), ["1.2.3", "1.2.4", "1.2.5"]);
    assert.deepEqual(dropped.map(([d, k]) => `${d}:${k.segUid}`), ["dimse:1.2.1", "dimse:1.2.2"]);
    assert.equal([...Deno.readDirSync(join(dir, "queue", "dimse"))].length, 3);
    assert.equal(await store.find("1.2.3"), undefined, "only the newest 2 are retained");
    assert.deepEqual(await store.find("1.2.5"), bytes(5));
    assert.deepEqual(await store.read("dimse", store.pending("dimse")[0]), bytes(3));
    assert.equal(parseKey("garbage"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SEG store: a refused SEG moves from pending to failed at once, never in neither list; it survives a restart there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-store-" });
  try {
    const store = new SegStore(dir, ["dimse"], 100, 10);
    const k = await store.put(bytes(1), "1.2.9", "9.9.1", 1000);
    const moving = store.rejected("dimse", k);
    // before the rename has finished
    assert.deepEqual(store.pending("dimse"), []);
    assert.deepEqual(store.failed("dimse").map((x) => x.segUid), ["1.2.9"]);
    await moving;
    const reopened = new SegStore(dir, ["dimse"], 100, 10);
    await reopened.open();
    assert.deepEqual(reopened.pending("dimse"), []);
    assert.deepEqual(reopened.failed("dimse").map((x) => x.segUid), ["1.2.9"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
