import assert from "node:assert/strict";
import { summarizeLevels, type VersusLevel } from "../../../bench/versus.ts";

function level(server: string, round: number, rps: number): VersusLevel {
  return {
    server,
    round,
    connections: 8,
    duration_s: 10,
    requests: rps * 10,
    errors: 0,
    rps,
    latency_ms: { p50: 8000 / rps, p90: 9000 / rps, p99: 10000 / rps, max: 0, mean: 8000 / rps },
    cpu_ms_per_request: 10,
    threads_ms_per_request: [],
    two_free_cores_rps_model: null,
    rss_after_mib: null,
  };
}

Deno.test("versus: the throughput ratio is our median round over the peer's best, so a peer round that ran slow does not flatter us", () => {
  const servers = [
    { id: "ours", label: "ours", kind: "ours" as const },
    { id: "peer", label: "peer", kind: "peer" as const },
  ];
  const levels = [
    level("ours", 1, 120),
    level("peer", 1, 63),
    level("ours", 2, 118),
    level("peer", 2, 17),
  ];
  const { summary, ratios } = summarizeLevels(servers, [8], levels);
  assert.equal(summary.find((s) => s.server === "peer")?.rps, 40, "the summary keeps medians");
  assert.equal(ratios.length, 1);
  assert.equal(ratios[0].throughput, 1.89); // 119 / 63
  assert.equal(ratios[0].throughput_medians, 2.98); // 119 / 40
});
