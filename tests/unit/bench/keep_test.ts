import assert from "node:assert/strict";
import { carryOver } from "../../../bench/main.ts";
import type { BenchResults } from "../../../bench/results.ts";
import type { Part } from "../../../bench/settings.ts";

Deno.test("bench --keep: parts not run keep the earlier run's figures and its date (the oldest date when kept twice)", () => {
  const earlier = {
    started_at: "2026-11-30T10:05:00.000Z",
    latency: { sizes: [256], rows: [], ratios: [] },
    quant: null,
    versus: { old: true },
    carried: { peak: "2026-11-29T08:00:00.000Z" },
    peak: { probe: {} },
  } as unknown as BenchResults;
  const now = {
    latency: null,
    quant: null,
    versus: { new: true },
    peak: null,
  } as unknown as BenchResults;
  carryOver(now, earlier, new Set<Part>(["versus"]));
  assert.deepEqual(now.latency, earlier.latency);
  assert.deepEqual(now.versus, { new: true }, "a part run now keeps its new figures");
  assert.equal(now.quant, null, "nothing to keep");
  assert.deepEqual(now.carried, {
    latency: "2026-11-30T10:05:00.000Z",
    peak: "2026-11-29T08:00:00.000Z",
  });
});
