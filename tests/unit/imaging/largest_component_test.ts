import assert from "node:assert/strict";
import { keepLargestComponent } from "../../../src/imaging/largest_component.ts";

/** A mask from rows of "#" (foreground) and "." (background). */
function grid(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const width = rows[0].length, height = rows.length;
  const mask = new Uint8Array(width * height);
  rows.forEach((r, y) => [...r].forEach((ch, x) => mask[y * width + x] = ch === "#" ? 1 : 0));
  return { mask, width, height };
}

function draw(mask: Uint8Array, width: number): string[] {
  const rows: string[] = [];
  for (let y = 0; y < mask.length / width; y++) {
    rows.push([...mask.subarray(y * width, (y + 1) * width)].map((v) => v ? "#" : ".").join(""));
  }
  return rows;
}

Deno.test("largest component: keeps the biggest region, drops the rest, leaves the input alone", () => {
  const g = grid([
    "##....#",
    "##.....",
    "....###",
    "....###",
    "#...###",
  ]);
  const before = g.mask.slice();
  const r = keepLargestComponent(g.mask, g.width, g.height);
  assert.deepEqual(draw(r.mask, g.width), [
    ".......",
    ".......",
    "....###",
    "....###",
    "....###",
  ]);
  assert.equal(r.regions, 4);
  assert.equal(r.removedPixels, 6);
  assert.deepEqual(g.mask, before);
});

Deno.test("largest component: diagonal neighbours are connected (8-connectivity)", () => {
  const g = grid([
    "#...",
    ".#..",
    "..#.",
    "...#",
  ]);
  const r = keepLargestComponent(g.mask, g.width, g.height);
  assert.equal(r.regions, 1);
  assert.deepEqual(r.mask, g.mask);
});

Deno.test("largest component: an empty mask stays empty; a tie keeps the region met first", () => {
  const empty = keepLargestComponent(new Uint8Array(12), 4, 3);
  assert.equal(empty.regions, 0);
  assert.ok(empty.mask.every((v) => v === 0));
  const g = grid(["##..##"]);
  assert.deepEqual(draw(keepLargestComponent(g.mask, 6, 1).mask, 6), ["##...."]);
});

Deno.test("largest component: a region that wraps round the image edge is not joined across it", () => {
  const g = grid([
    "...#",
    "#...",
  ]);
  assert.equal(keepLargestComponent(g.mask, 4, 2).regions, 2);
});

Deno.test("largest component: a mask of the wrong size is refused", () => {
  assert.throws(() => keepLargestComponent(new Uint8Array(5), 2, 2), /expected 2×2/);
});
