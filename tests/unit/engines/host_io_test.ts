import assert from "node:assert/strict";
import { BufferPool, packedBytes, packFeeds, unpackFeeds } from "../../../src/engines/host_io.ts";

Deno.test("packed inputs read back as views of one buffer, each aligned to 64 bytes", () => {
  const feeds = {
    image: { data: new Float32Array([1, 2, 3]), dims: [1, 1, 1, 3] },
    mask: { data: new Float32Array([4, 5]), dims: [1, 2] },
  };
  const bytes = packedBytes(feeds);
  assert.equal(bytes, 128);
  const packed = packFeeds(feeds, new ArrayBuffer(bytes));
  assert.deepEqual(packed.inputs.map((i) => i.offset), [0, 64]);
  const back = unpackFeeds(packed);
  assert.deepEqual(Array.from(back.image.data), [1, 2, 3]);
  assert.deepEqual(back.mask.dims, [1, 2]);
  assert.equal(back.mask.data.buffer, packed.buffer); // a view, not a copy
  feeds.image.data[0] = 9; // the caller's buffer is its own
  assert.equal(back.image.data[0], 1);
});

Deno.test("the buffer pool hands back the smallest buffer that fits and keeps no large or detached ones", () => {
  const pool = new BufferPool(1024, 2);
  const a = pool.take(100);
  const b = pool.take(500);
  assert.ok(a.byteLength >= 100 && b.byteLength >= 500);
  pool.give(b);
  pool.give(a);
  assert.equal(pool.take(90), a); // the smaller one fits
  assert.equal(pool.take(90), b);
  assert.notEqual(pool.take(90), a); // pool empty: a new one
  pool.give(new ArrayBuffer(2048)); // over keepBytes
  assert.equal(pool.size, 0);
  const moved = new ArrayBuffer(64);
  structuredClone(moved, { transfer: [moved] }); // detached (byteLength 0)
  pool.give(moved);
  assert.equal(pool.size, 0);
  // at most keepCount, keeping the larger ones
  pool.give(new ArrayBuffer(100));
  pool.give(new ArrayBuffer(300));
  pool.give(new ArrayBuffer(200));
  assert.equal(pool.size, 2);
  assert.ok(pool.take(250).byteLength === 300);
  assert.ok(pool.take(150).byteLength === 200);
});
