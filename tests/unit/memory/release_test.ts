import assert from "node:assert/strict";
import { releaseChunk, releaseNow } from "../../../src/memory/release.ts";

Deno.test("releaseNow frees large buffers at once and leaves small and shared ones alone", () => {
  const large = new ArrayBuffer(4 << 20);
  const small = new ArrayBuffer(1024);
  const shared = new SharedArrayBuffer(4 << 20);
  releaseNow(large, small, shared, large); // twice: the second is a no-op
  assert.equal(large.detached, true);
  assert.equal(large.byteLength, 0);
  assert.equal(small.detached, false);
  assert.equal(shared.byteLength, 4 << 20);
});

Deno.test("releaseChunk frees a chunk that is its whole buffer, of any size, and leaves views alone", () => {
  const whole = new Uint8Array(64 * 1024);
  const parent = new ArrayBuffer(1024);
  const view = new Uint8Array(parent, 16, 32);
  releaseChunk(whole);
  releaseChunk(view);
  releaseChunk(whole); // already released: a no-op
  assert.equal(whole.buffer.detached, true);
  assert.equal(parent.detached, false);
});
