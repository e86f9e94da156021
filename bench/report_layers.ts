/**
 * Renders `bench/conv_layers.ts` (onnxruntime's own per-node profile of the student) for
 * RESULTS.md: kernel time and MACs needed / done per output resolution, and the slowest
 * nodes.
 *
 * @module
 */
import type { LayerProfile } from "./conv_layers.ts";
import type { BenchResults } from "./results.ts";

const SCRIPT = "bench/conv_layers.ts";
const mmac = (n: number) => (n / 1e6).toFixed(1);
const msOf = (us: number) => (us / 1000).toFixed(2);

/** The layer profile section (empty when the script did not run). */
export function renderConvLayers(r: BenchResults): string[] {
  const run = r.scripts?.find((s) => s.script === SCRIPT);
  const p = run?.json?.at(-1) as LayerProfile | undefined;
  if (!p?.by_scale) return [];
  const needed = p.by_scale.reduce((a, s) => a + s.macs_needed, 0);
  const done = p.by_scale.reduce((a, s) => a + s.macs_done, 0);
  const full = p.by_scale.find((s) => s.scale === 1);
  // the channels a full-resolution (4-channel) convolution ran with: the layout's block
  const block = p.top.find((n) => n.op === "Conv" && n.output[3] === p.size)?.output[1];
  const out = [
    `### Where the student's engine time goes (onnxruntime profiler, ${p.model}, ${p.size}², native 1 thread)`,
    "",
    `Kernel time ${
      msOf(p.total_us)
    } ms a run (mean of ${p.runs}; the profiler adds a little). onnxruntime runs the convolutions in its NCHWc layout, whose kernels compute output channels in blocks of the SIMD width${
      block ? `: here a 4-channel layer ran with ${block} output channels` : ""
    }. The graph needs **${mmac(needed)} M** MACs; the kernels did **${mmac(done)} M** (${
      (done / needed).toFixed(2)
    }×)${
      full
        ? `, and the full-resolution layers (4 channels) take ${
          Math.round((100 * full.us) / p.total_us)
        } % of the time doing ${(full.macs_done / full.macs_needed).toFixed(1)}× their MACs`
        : ""
    }. The same net without NCHWc (graph optimisation "extended": im2col + GEMM) runs in ${p.median_ms.extended} ms against ${p.median_ms.all} ms with it (medians, alternating, no profiler)${
      p.median_ms.extended >= p.median_ms.all
        ? ": no faster, so the student is bound by kernels built for wide layers, not by a setting"
        : ""
    }.`,
    "",
    `| output resolution | kernel ms | share | MACs needed (M) | MACs done (M) | done/needed |`,
    `|---|---|---|---|---|---|`,
    ...p.by_scale.map((s) =>
      `| 1/${s.scale} | ${msOf(s.us)} | ${Math.round((100 * s.us) / p.total_us)} % | ${
        mmac(s.macs_needed)
      } | ${mmac(s.macs_done)} | ${
        s.macs_needed ? (s.macs_done / s.macs_needed).toFixed(2) : "–"
      } |`
    ),
    "",
    `Slowest nodes: ${
      p.top.slice(0, 5).map((n) =>
        `\`${n.node}\` ${msOf(n.us)} ms (weights as run ${n.weight.join("×") || "–"}, output ${
          n.output.join("×")
        })`
      ).join("; ")
    }.`,
    "",
  ];
  return out;
}
