/**
 * Renders the peak part for RESULTS.md: the machine's measured and theoretical limits, each
 * engine's GEMM, conv and floor, the student's and the teacher's share of the engine's conv
 * peak, and why the student runs far from peak on onnxruntime.
 *
 * @module
 */
import { renderConvLayers } from "./report_layers.ts";
import { renderKernelWidths } from "./report_widths.ts";
import { convPeak, studentRate } from "./peak_shares.ts";
import type { BenchResults } from "./results.ts";
import { g, mib, ms, table } from "./report_format.ts";
import { round } from "./stats.ts";

/** The "Against the limit" section (empty without a peak part). */
export function renderPeak(r: BenchResults, sizes: number[]): string[] {
  if (!r.peak) return [];
  const p = r.peak;
  const m = r.machine;
  const out: string[] = [`## 2. Against the limit`, ""];
  if (p.probe.available) {
    const f1 = p.probe.fma?.["1"], f2 = p.probe.fma?.["2"];
    const fpcMeasured = f1 && p.probe.clock_ghz
      ? round(f1.gflops_per_cpu_second / p.probe.clock_ghz, 1)
      : null;
    out.push(
      `**Physical peak, measured** (\`bench/peak_probe.c\`, ${p.probe.compiler}, -O2 -march=native): core clock **${p.probe.clock_ghz} GHz** (dependent adds per thread-CPU second); ` +
        `fp32 FMA **${f1?.gflops_per_cpu_second} GFLOP/s per core** per CPU-second (${fpcMeasured} FLOP/cycle), ${f2?.gflops_per_cpu_second} GFLOP/s for 2 threads; ` +
        `per wall second this run got ${f1?.gflops_wall} (1 thread) and ${f2?.gflops_wall} (2 threads) — the gap is the share other processes took. ` +
        `Memory bandwidth (STREAM triad, 3 × ${m.cpu.l3_kib ? "arrays ≫ L3" : "large arrays"}): ${
          p.probe.triad_gb_per_s?.["1"]
        } GB/s (1 thread), ${p.probe.triad_gb_per_s?.["2"]} GB/s (2 threads).`,
    );
  } else {
    out.push(`Physical peak not measured: ${p.probe.reason}.`);
  }
  out.push("");
  if (p.theoretical) {
    const t = p.theoretical;
    out.push(
      `**Theoretical peak:** ${t.flop_per_cycle} FLOP/cycle/core (${t.basis}) × ${t.clock_ghz} GHz (${t.clock_source}) = **${t.per_core_gflops} GFLOP/s per core, ${t.all_cores_gflops} GFLOP/s for ${m.nproc} cores**.`,
      "",
    );
  }
  const eng = r.engines.filter((e) => e.available && e.engine !== "webgpu");
  const s0 = sizes.includes(256) ? 256 : sizes[0];
  const phys = (threads: number) =>
    p.probe.fma?.[String(threads)]?.gflops_per_cpu_second ??
      (p.theoretical ? p.theoretical.per_core_gflops * threads : 0);
  const k = (id: string, kind: string) =>
    p.kernels.find((x) => x.config === id && x.kernel === kind);
  const rate = (id: string, kind: string) => {
    const row = k(id, kind);
    return row?.gflops_per_s ?? (row?.error ? "n/a" : "–");
  };
  const pct = (x: number | null | undefined, of: number | null) =>
    x && of ? `${round((100 * x) / of, 1)} %` : "–";
  const rows = eng.map((e) => {
    const st = studentRate(r, e.id, s0);
    const te = r.latency?.rows.find((x) =>
      x.config === e.id && x.size === s0 && x.net === "teacher"
    );
    const pk = convPeak(r, e.id);
    const ph = phys(e.threads);
    const inFlight = st?.inFlight ?? 1;
    return [
      e.id,
      inFlight > 1 ? `${inFlight} at once` : "one",
      rate(e.id, "gemm"),
      rate(e.id, "conv"),
      rate(e.id, "conv-direct"),
      ms(k(e.id, "floor")?.median_ms),
      `${st?.gflops ?? "–"} (${pct(st?.gflops, pk)} / ${pct(st?.gflops, ph)})`,
      `${te?.gflops_per_s ?? "–"} (${pct(te?.gflops_per_s, pk)} / ${pct(te?.gflops_per_s, ph)})`,
    ];
  });
  const shape = (kind: string) => p.kernels.find((x) => x.kernel === kind)?.shape ?? "?";
  out.push(
    `Per engine (${s0}²): a GEMM (${shape("gemm")}), a wide conv (${
      shape("conv")
    }: onnxruntime runs it on every native and wasm configuration) and the widest conv the direct kernels take (${
      shape("conv-direct")
    }: on them where the engine serves the student on them), run on the engine itself; the engine's conv peak is the better conv. The floor is a one-node graph (${
      shape("floor")
    }): the fixed cost of one run. "Runs" says how a configuration of N threads was timed: one run at a time (an engine that runs one run on N threads), or N at once (the direct kernels: one thread a run, N lanes; rates count all N runs). The student is timed in the same way here (${
      shape("student")
    }); the teacher is the latency part's (one run at a time). Percentages: of the engine's conv peak / of the physical peak for its thread count (per CPU-second).`,
    "",
    table([
      "engine",
      "runs",
      "GEMM GFLOP/s",
      "wide conv GFLOP/s",
      "direct-width conv GFLOP/s",
      "floor ms",
      "student GFLOP/s (% conv peak / % physical)",
      "teacher GFLOP/s (% conv peak / % physical)",
    ], rows),
    "",
  );
  if (
    p.probe.fma?.["1"] &&
    p.probe.fma["1"].gflops_wall < 0.9 * p.probe.fma["1"].gflops_per_cpu_second
  ) {
    out.push(
      `(This run shared the CPUs: latencies are wall-clock, so every "% of physical" here is lower than on a quiet machine; the GEMM/conv rates were measured under the same load as the nets and are the fairer yardstick.)`,
      "",
    );
  }
  out.push(whyFarFromPeak(r, s0));
  out.push("", ...renderConvLayers(r));
  out.push("", ...renderKernelWidths(r));
  out.push("");
  return out;
}

/**
 * Why the student runs far below peak on onnxruntime (the direct kernels, `native-*`, are the
 * answer), with this run's numbers.
 */
function whyFarFromPeak(r: BenchResults, size: number): string {
  const st = r.nets.student.flops[size];
  const te = r.nets.teacher.flops[size];
  const floor = r.peak?.kernels.find((k) => k.config === "onnxruntime-1t" && k.kernel === "floor")
    ?.median_ms;
  const sLat = r.latency?.rows.find((x) =>
    x.config === "onnxruntime-1t" && x.size === size && x.net === "student"
  )?.timing?.summary.median_ms;
  const direct = r.latency?.rows.find((x) =>
    x.config === "native-1t" && x.size === size && x.net === "student"
  )?.timing?.summary.median_ms;
  const bw = r.peak?.probe.triad_gb_per_s?.["1"];
  const lines = [
    `Why the student is far from peak on onnxruntime: its convolutions have 4–32 channels (teacher: 64–512), so each is a tiny GEMM (K = C_in·9 ≤ 576, N = C_out ≤ 32) whose output-channel dimension fills a fraction of a ${
      r.machine.cpu.simd_flags.includes("avx512f") ? "16-lane AVX-512" : "SIMD"
    } register and whose packing/dispatch costs are not amortised;`,
    ` its arithmetic intensity is ${st.intensity_flop_per_byte} FLOP/byte against the teacher's ${te.intensity_flop_per_byte}, so it streams ${
      mib(st.conv_bytes)
    } of activations and weights per image for only ${g(st.flops)}FLOP`,
    bw
      ? ` (at the measured ${bw} GB/s DRAM bandwidth that traffic alone would take ${
        ms((st.conv_bytes / (bw * 1e9)) * 1000)
      } ms; most of it stays in the ${r.machine.cpu.l2_kib_per_core ?? "?"} KiB L2 / ${
        r.machine.cpu.l3_kib ? r.machine.cpu.l3_kib / 1024 : "?"
      } MiB L3, which is why it runs faster than that bound)`
      : "",
    `; and it is ${r.nets.student.flops[size].nodes} graph nodes, each with a fixed per-node cost`,
    floor !== undefined && sLat
      ? `, on top of a fixed per-run cost (the floor above: ${
        ms(floor)
      } ms on onnxruntime 1 thread, ${round((100 * floor) / sLat, 1)} % of the student's ${
        ms(sLat)
      } ms)`
      : "",
    `. The teacher, with wide convolutions and high intensity, is compute-bound and runs near the engine's GEMM rate.`,
    direct && sLat
      ? ` The direct kernels (the native engine as served) vectorise over the row instead, so every lane is useful at 4 channels: ${
        ms(direct)
      } ms against onnxruntime's ${ms(sLat)} on one thread (${round(sLat / direct, 2)}×).`
      : "",
  ];
  return lines.join("");
}
