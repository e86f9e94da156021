import assert from "node:assert/strict";
import { parseIdleGcMs } from "../../../src/memory/idle_gc_setting.ts";

Deno.test("the idle-GC setting: default 1000 ms, 0 turns it off, anything else is refused", () => {
  assert.equal(parseIdleGcMs({}), 1000);
  assert.equal(parseIdleGcMs({ TINYUNET_IDLE_GC_MS: "0" }), 0);
  assert.throws(() => parseIdleGcMs({ TINYUNET_IDLE_GC_MS: "soon" }), /TINYUNET_IDLE_GC_MS/);
});
