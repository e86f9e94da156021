import assert from "node:assert/strict";
import { countsToString, encodeRle, runLengths, stringToCounts } from "../../../src/outputs/rle.ts";

Deno.test("runs are column-major and start with background", () => {
  // 3 wide × 2 high, row-major: [1 0 1 / 1 0 0] → columns: (1,1) (0,0) (1,0)
  const mask = Uint8Array.from([1, 0, 1, 1, 0, 0]);
  assert.deepEqual(runLengths(mask, 3, 2), [0, 2, 2, 1, 1]);
});

Deno.test("COCO string compression matches pycocotools' scheme and round-trips", () => {
  // [0, 4]: values below 16 are one char each ('0' + value)
  assert.equal(countsToString([0, 4]), "04");
  // after the third run, values are stored as differences from two back: 5-2 = 3
  assert.equal(countsToString([1, 2, 3, 5]), "1233");
  // a long run needs continuation chars: 100 = 0b11_00100 → 4|0x20, 3 → "T3"
  assert.equal(countsToString([100]), "T3");
  for (const counts of [[0, 4], [1, 2, 3, 5], [7, 1000, 3, 2, 99999, 1], [65536]]) {
    assert.deepEqual(stringToCounts(countsToString(counts)), counts);
  }
  const rle = encodeRle(Uint8Array.from([1, 1, 1, 1]), 2, 2);
  assert.deepEqual(rle, { size: [2, 2], counts: "04" });
});
