import assert from "node:assert/strict";
import { releaseNow } from "../../../src/memory/release.ts";

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
