import assert from "node:assert/strict";
import { convPeak, studentRate, studentShareOfConvPeak } from "../../../bench/peak_shares.ts";
import { runsAtOnce } from "../../../bench/peak.ts";
import type { KernelRow } from "../../../bench/peak.ts";
import type { BenchResults } from "../../../bench/results.ts";

function results(kernels: KernelRow[], studentSize?: number): BenchResults {
  return {
    peak: {
      probe: { available: false, reason: "" },
      theoretical: null,
      kernels,
      student_size: studentSize,
    },
    latency: {
      rows: [{ config: "wasm-2t", size: 256, net: "student", gflops_per_s: 30 }],
    },
  } as unknown as BenchResults;
}

const row = (kernel: KernelRow["kernel"], gflops: number, inFlight = 1): KernelRow => ({
  config: "wasm-2t",
  kernel,
  shape: "",
  flops: 1,
  gflops_per_s: gflops,
  in_flight: inFlight,
});

Deno.test("peak shares: the conv peak is the better conv row, never the GEMM", () => {
  const r = results([row("gemm", 500), row("conv", 54), row("conv-direct", 70, 2)]);
  assert.equal(convPeak(r, "wasm-2t"), 70);
  assert.equal(convPeak(r, "native-1t"), null);
});

Deno.test("peak shares: the student is taken from the peak part when timed there at the size asked, else from the latency part", () => {
  const kernels = [row("conv", 54), row("conv-direct", 70, 2), row("student", 61, 2)];
  const r = results(kernels, 256);
  assert.deepEqual(studentRate(r, "wasm-2t", 256), { gflops: 61, inFlight: 2 });
  assert.equal(Math.round(studentShareOfConvPeak(r, "wasm-2t", 256)! * 10) / 10, 87.1);
  // a student row timed at another size does not stand for 256²
  assert.deepEqual(studentRate(results(kernels, 64), "wasm-2t", 256), { gflops: 30, inFlight: 1 });
  // older results: no student row
  assert.deepEqual(studentRate(results([row("conv", 54)]), "wasm-2t", 256), {
    gflops: 30,
    inFlight: 1,
  });
  assert.equal(studentShareOfConvPeak(results([]), "wasm-2t", 256), null);
});

Deno.test("peak: a one-thread-a-run session with lanes is timed N runs at once at N threads; one on N threads, one at a time", () => {
  assert.equal(runsAtOnce({ threads: 2 }, { threads: 1, lanes: 2 }), 2);
  assert.equal(runsAtOnce({ threads: 2 }, { threads: 1, lanes: 1 }), 1);
  assert.equal(runsAtOnce({ threads: 1 }, { threads: 1, lanes: 2 }), 1);
  assert.equal(runsAtOnce({ threads: 2 }, { threads: 2, lanes: 1 }), 1);
  assert.equal(runsAtOnce({ threads: 4 }, { threads: 1, lanes: 2 }), 2);
});
