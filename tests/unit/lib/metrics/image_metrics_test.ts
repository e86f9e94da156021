import assert from "node:assert/strict";
import { imageMetrics, meanMetrics } from "../../../../lib/metrics/image_metrics.ts";
import { confusion, overlapMetrics } from "../../../../lib/metrics/overlap.ts";

// 3×3 case worked by hand: pred covers the left two columns, truth the top two rows.
// pred  1 1 0   truth 1 1 1   tp = 4 (top-left 2×2), fp = 2 (bottom-left two),
//       1 1 0         1 1 1   fn = 2 (right column, top two)
//       1 1 0         0 0 0
const pred = Uint8Array.from([1, 1, 0, 1, 1, 0, 1, 1, 0]);
const truth = Uint8Array.from([1, 1, 1, 1, 1, 1, 0, 0, 0]);

Deno.test("Dice, IoU, precision, recall of a case computed by hand", () => {
  assert.deepEqual(confusion(pred, truth), { tp: 4, fp: 2, fn: 2 });
  const m = imageMetrics(pred, truth, 3, 3);
  assert.equal(m.dice, 8 / 12);
  assert.equal(m.iou, 4 / 8);
  assert.equal(m.precision, 4 / 6);
  assert.equal(m.recall, 4 / 6);
  assert.ok(m.hd95 >= 1 && m.hd95 <= Math.SQRT2 * 2);
});

Deno.test("empty masks: both empty scores 1, one empty scores 0", () => {
  const empty = new Uint8Array(9);
  assert.deepEqual(overlapMetrics(confusion(empty, empty)), {
    dice: 1,
    iou: 1,
    precision: 1,
    recall: 1,
  });
  const missed = overlapMetrics(confusion(empty, truth));
  assert.equal(missed.dice, 0);
  assert.equal(missed.recall, 0);
  assert.equal(missed.precision, 0);
  const spurious = overlapMetrics(confusion(pred, empty));
  assert.equal(spurious.dice, 0);
  assert.equal(spurious.precision, 0);
  assert.equal(spurious.recall, 0);
});

Deno.test("means are per image, then averaged (not pooled pixels)", () => {
  const a = imageMetrics(pred, truth, 3, 3);
  const b = imageMetrics(truth, truth, 3, 3);
  const mean = meanMetrics([a, b]);
  assert.equal(mean.dice, (a.dice + 1) / 2);
  assert.throws(() => meanMetrics([]), RangeError);
  assert.throws(() => imageMetrics(pred, new Uint8Array(8), 3, 3), RangeError);
});
