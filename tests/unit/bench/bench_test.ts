/**
 * Smoke tests of the benchmark: exact FLOP counts of known convolutions and of a whole
 * builder U-Net, the statistics and the target checks. One `--quick` run of every part is
 * in tests/e2e/bench_quick_test.ts; the full benchmark is never part of the suite.
 *
 * @module
 */
import assert from "node:assert/strict";
import { GraphBuilder, unetModel } from "../../../lib/onnx_builder.ts";
import { countFlops } from "../../../bench/flops.ts";
import type { BenchResults } from "../../../bench/results.ts";
import { percentile, summarize, timeRuns } from "../../../bench/stats.ts";
import { evaluateTargets } from "../../../bench/targets.ts";

Deno.test("flops: a 3×3 conv, a strided conv and a transposed conv, exactly", () => {
  const g = new GraphBuilder(1);
  const x = g.input("image", [1, 3, 5, 5]);
  const a = g.conv(x, 3, 2, 3); // 5×5 out: 25 · 2 · 3 · 9 = 1350 MACs
  const b = g.conv(a, 2, 4, 3, 2); // stride 2, pad 1 → 3×3 out: 9 · 4 · 2 · 9 = 648 MACs
  const c = g.upConv(b, 4, 3); // 3×3 in → 6×6 out: 9 · 4 · 3 · 4 = 432 MACs
  g.output(c, "y", [1, 3, 6, 6]);
  const f = countFlops(g.build(), { image: [1, 3, 5, 5] });
  assert.deepEqual(f.layers.map((l) => l.macs), [1350, 648, 432]);
  assert.deepEqual(f.layers.map((l) => l.output), [[1, 2, 5, 5], [1, 4, 3, 3], [1, 3, 6, 6]]);
  assert.equal(f.macs, 2430);
  assert.equal(f.flops, 4860);
  assert.deepEqual(f.macs_by_op, { Conv: 1998, ConvTranspose: 432 });
  // bytes: fp32 input + weights + output per conv
  assert.equal(f.layers[0].bytes, 4 * (75 + 54 + 50));
});

Deno.test("flops: a builder U-Net matches the closed form, and batch scales it", () => {
  const w = 4, s = 64;
  const widths = [1, 2, 4, 8, 8].map((m) => w * m);
  const px = (level: number) => (s >> level) ** 2;
  let macs = 0;
  let cin = 3;
  widths.forEach((c, i) => {
    macs += px(i) * 9 * (cin * c + c * c);
    cin = c;
  });
  for (let i = 3; i >= 0; i--) {
    macs += px(i + 1) * widths[i + 1] * widths[i] * 4; // 2×2 transposed conv
    macs += px(i) * 9 * (2 * widths[i] * widths[i] + widths[i] * widths[i]);
  }
  macs += px(0) * w; // 1×1 head
  const bytes = unetModel({ width: w });
  assert.equal(countFlops(bytes, { image: [1, 3, s, s] }).macs, macs);
  assert.equal(countFlops(bytes, { image: [2, 3, s, s] }).macs, 2 * macs);
});

Deno.test("flops: an operator without a shape rule is named", () => {
  const g = new GraphBuilder(1);
  const x = g.input("image", [1, 3, 4, 4]);
  g.output(g.node("Einsum", [x]), "y", [1]);
  assert.throws(() => countFlops(g.build(), { image: [1, 3, 4, 4] }), /Einsum/);
});

Deno.test("stats: interpolated percentiles, summaries, warm-ups excluded, run caps", async () => {
  const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(xs, 50), 5.5);
  assert.equal(percentile(xs, 90), 9.1);
  assert.equal(percentile(xs, 100), 10);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
  const s = summarize(xs);
  assert.equal(s.n, 10);
  assert.equal(s.median_ms, 5.5);
  let calls = 0;
  const t = await timeRuns(() => Promise.resolve(calls++), {
    warmup: 2,
    minRuns: 3,
    maxRuns: 7,
    budgetMs: 60_000,
  });
  assert.equal(calls, 9);
  assert.equal(t.summary.n, 7);
  assert.equal(t.warmup_ms.length, 2);
  assert.equal(t.stopped_by, "runs");
  const slow = await timeRuns(() => new Promise((r) => setTimeout(r, 5)), {
    warmup: 0,
    minRuns: 2,
    maxRuns: 1000,
    budgetMs: 20,
  });
  assert.equal(slow.stopped_by, "time");
  assert.ok(slow.summary.n >= 2 && slow.summary.n < 1000);
});

Deno.test("targets: met, missed and unmeasured goals say so", () => {
  const row = (config: string, net: string, median: number) => ({
    config,
    net,
    size: 256,
    timing: {
      summary: {
        n: 30,
        median_ms: median,
        p90_ms: median,
        min_ms: median,
        max_ms: median,
        mean_ms: median,
      },
      warmup_ms: [],
      stopped_by: "runs",
    },
  });
  const r = {
    latency: {
      sizes: [256],
      rows: [
        row("native-1t", "student", 4),
        row("native-1t", "teacher", 600),
        row("wasm-1t", "student", 12),
      ],
      ratios: [{
        config: "native-1t",
        size: 256,
        student_median_ms: 4,
        teacher_median_ms: 600,
        teacher_over_student: 150,
      }],
    },
    http: null,
    cold_start: null,
  } as unknown as BenchResults;
  const t = Object.fromEntries(evaluateTargets(r, 256).map((x) => [x.id, x]));
  assert.equal(t.ratio_native_1t.met, true);
  assert.equal(t.student_native_1t.met, true);
  assert.equal(t.wasm_vs_native_1t.measured, 3);
  assert.equal(t.wasm_vs_native_1t.met, false);
  assert.match(t.wasm_vs_native_1t.gap, /over by 0\.5/);
  assert.equal(t.ratio_native_2t.met, null);
  assert.equal(t.http_c8_rps.met, null);
});
