/**
 * Renders `results.json` (see results.ts) as `RESULTS.md`: machine, versions and load
 * first, then the targets, the paper's claims, the distance from the machine's limits,
 * int8, HTTP, cold start, the per-request profile, and how every figure was computed.
 *
 * @module
 */
import { renderCodecStages } from "./report_codecs.ts";
import { renderVersus } from "./report_versus.ts";
import { renderPeak } from "./report_peak.ts";
import { g, mib, ms, num, table } from "./report_format.ts";
import type { LatencyRow } from "./latency.ts";
import type { CommandStarts } from "./cold_start.ts";
import { SPARSE_CONFIGS } from "./sparse.ts";
import type { BenchResults, Target } from "./results.ts";
import { round } from "./stats.ts";

function measured(t: Target): string {
  return t.measured === null ? "–" : t.unit === "×" ? `${t.measured}×` : `${t.measured} ${t.unit}`;
}

function cell(row: LatencyRow | undefined): string {
  if (!row) return "–";
  if (row.skipped) return "skipped";
  if (row.error || !row.timing) return "error";
  const s = row.timing.summary;
  return `${ms(s.median_ms)} (${ms(s.p90_ms)}) n=${s.n}${
    row.timing.stopped_by === "time" ? "†" : ""
  }`;
}

function uarch(r: BenchResults): string {
  const c = r.machine.cpu;
  const fam = c.family !== null ? `family ${c.family} model ${c.model_number}` : "";
  return `${c.model}${fam ? ` (${fam})` : ""}`;
}

/** RESULTS.md text. */
export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  const m = r.machine;
  const v = m.versions;
  const date = r.started_at.slice(0, 16).replace("T", " ") + " UTC";
  out.push(`# TinyUnet Edge — benchmark results`);
  out.push("");
  out.push(
    `Produced by \`${r.command}\` (${r.mode} run) on ${date}, ${r.duration_s} s. Regenerate with the same command; raw figures in [results.json](results.json).`,
    ...(r.carried && Object.keys(r.carried).length
      ? [
        "",
        `Kept from earlier runs (\`--keep\`; not measured in this one): ${
          Object.entries(r.carried).map(([part, at]) =>
            `${part} (run of ${at.slice(0, 16).replace("T", " ")} UTC)`
          )
            .join(", ")
        }.`,
      ]
      : []),
  );
  out.push("");
  out.push(
    `**Machine:** ${uarch(r)}, ${m.nproc} CPUs (nproc), ${m.memory_gib} GiB RAM${
      m.cpu.hypervisor ? ", virtual machine" : ""
    }, SIMD ${m.cpu.simd_flags.join(" ")}; L2 ${m.cpu.l2_kib_per_core ?? "?"} KiB/core, L3 ${
      m.cpu.l3_kib ? m.cpu.l3_kib / 1024 : "?"
    } MiB; ${m.os}.  `,
  );
  out.push(
    `**Software:** Deno ${v.deno} (V8 ${v.v8}), onnxruntime-node ${
      v["onnxruntime-node"]
    }, onnxruntime-web ${v["onnxruntime-web"]}, tfjs-backend-wasm ${
      v["@tensorflow/tfjs-backend-wasm"]
    }, Hono ${v.hono}, autocannon ${v.autocannon}` +
      (r.nets.torch_version
        ? `; PyTorch ${r.nets.torch_version} and onnx ${r.nets.onnx_version} (model export only)`
        : "") +
      `. Commit ${m.git.commit?.slice(0, 10) ?? "?"}${
        m.git.tracked_changes ? " (with uncommitted changes)" : ""
      }.  `,
  );
  const ls = r.load;
  out.push(
    `**Load during the run:** load average (1/5/15 min) ${
      ls.start.loadavg.join(" / ")
    } at the start, ${ls.end?.loadavg.join(" / ") ?? "?"} at the end, on ${ls.nproc} CPUs` +
      `; per part: ${
        ls.samples.filter((s) => s.label !== "start" && s.label !== "end").map((s) =>
          `${s.label} ${s.loadavg[0]}`
        ).join(", ")
      }.` +
      (ls.busiest_at_start.length
        ? ` Busiest processes at the start (ps %CPU over their lifetime): ${
          ls.busiest_at_start.slice(0, 3).map((p) =>
            `\`${p.command.slice(0, 60)}\` ${p.cpu_percent} %`
          ).join(", ")
        }.`
        : ""),
  );
  const loaded = ls.start.loadavg[0] > ls.nproc * 0.5 || (ls.end?.loadavg[0] ?? 0) > ls.nproc * 0.5;
  if (loaded) {
    out.push("");
    out.push(
      `> The machine was shared during this run (load average above half the CPU count): absolute times are inflated and noisy. Ratios measured side by side (teacher/student, wasm/native, int8/fp32) are the figures to read; rerun \`deno task bench\` on a quiet machine for absolute numbers.`,
    );
  }
  out.push("");

  // Targets
  out.push(`## Targets (${r.targets[0]?.where.match(/\d+²/)?.[0] ?? "256²"}, this machine)`);
  out.push("");
  out.push(
    table(
      ["goal", "measured", "where", "met", "gap"],
      r.targets.map((
        t,
      ) => [t.goal, measured(t), t.where, t.met === null ? "–" : t.met ? "yes" : "**no**", t.gap]),
    ),
  );
  out.push("");

  // 1. claims
  const n = r.nets;
  const sizes = r.latency?.sizes ?? Object.keys(n.student.flops).map(Number);
  out.push(`## 1. Student vs teacher: the paper's claims`);
  out.push("");
  out.push(
    `Nets: **${
      n.source === "pytorch" ? "PyTorch export" : "builder fallback"
    }** — ${n.note}. Weights untrained (timing does not depend on them).`,
  );
  out.push("");
  const netRows: (string | number)[][] = [
    [
      "parameters (ONNX initialisers)",
      num(n.student.params_onnx),
      num(n.teacher.params_onnx),
      `${round(n.teacher.params_onnx / n.student.params_onnx, 1)}×`,
    ],
  ];
  if (n.student.params_torch) {
    netRows.push([
      "parameters (PyTorch, BatchNorm incl.)",
      num(n.student.params_torch),
      num(n.teacher.params_torch),
      `${round(n.teacher.params_torch! / n.student.params_torch, 1)}×`,
    ]);
  }
  netRows.push([
    "ONNX file",
    mib(n.student.file_bytes),
    mib(n.teacher.file_bytes),
    `${round(n.teacher.file_bytes / n.student.file_bytes, 1)}×`,
  ]);
  for (const s of sizes) {
    netRows.push([
      `FLOPs at ${s}² (2 × conv MACs)`,
      g(n.student.flops[s].flops),
      g(n.teacher.flops[s].flops),
      `${n.flop_ratio[s]}×`,
    ]);
  }
  for (const s of sizes) {
    netRows.push([
      `arithmetic intensity at ${s}² (FLOP per byte, per layer)`,
      n.student.flops[s].intensity_flop_per_byte,
      n.teacher.flops[s].intensity_flop_per_byte,
      "",
    ]);
  }
  out.push(
    table(["", "TinyUnet (student, width 4)", "U-Net-64 (teacher)", "teacher/student"], netRows),
  );
  out.push("");
  out.push(
    `Parameters: **−${n.param_reduction_percent} %** (paper: −99.6 %).` +
      (n.student.flops_torch
        ? ` FLOP cross-check: flops.ts (ONNX graph) ${
          sizes.every((s) =>
              n.student.flops_torch?.[s] === undefined ||
              n.student.flops_torch[s] === n.student.flops[s].flops &&
                n.teacher.flops_torch?.[s] === n.teacher.flops[s].flops
            )
            ? "equals"
            : "DIFFERS from"
        } PyTorch \`nets.flops_at\` at every size.`
        : ""),
  );
  out.push("");
  if (r.latency) {
    const eng = r.engines;
    const label = (id: string) => eng.find((e) => e.id === id)?.label ?? id;
    for (const s of sizes) {
      out.push(`### ${s}×${s}, batch 1 — median (p90) ms, n timed runs`);
      out.push("");
      const rows = eng.map((e) => {
        const st = r.latency!.rows.find((x) =>
          x.config === e.id && x.size === s && x.net === "student"
        );
        const te = r.latency!.rows.find((x) =>
          x.config === e.id && x.size === s && x.net === "teacher"
        );
        const ratio = r.latency!.ratios.find((x) => x.config === e.id && x.size === s);
        const why = !e.available ? ` — unavailable: ${e.reason}` : "";
        return [
          `${label(e.id)}${why}`,
          cell(st),
          cell(te),
          ratio ? `**${ratio.teacher_over_student}×**` : "–",
          st?.gflops_per_s ?? "–",
          te?.gflops_per_s ?? "–",
        ];
      });
      out.push(
        table([
          "engine",
          "student",
          "teacher",
          "teacher/student",
          "student GFLOP/s",
          "teacher GFLOP/s",
        ], rows),
      );
      out.push("");
    }
    const capped = r.latency.rows.filter((x) => x.timing?.stopped_by === "time");
    out.push(
      `Warm-up runs excluded (student ${r.plans.student.warmup}, teacher ${r.plans.teacher.warmup}, at full size, after the engine's own small warm-up). ` +
        `Student: ≥ ${r.plans.student.minRuns} timed runs, up to ${r.plans.student.maxRuns} or ${
          r.plans.student.budgetMs / 1000
        } s. ` +
        `Teacher: ≥ ${r.plans.teacher.minRuns} timed runs, then stop at ${r.plans.teacher.maxRuns} runs or once ${
          r.plans.teacher.budgetMs / 1000
        } s have passed` +
        (capped.length
          ? ` († = stopped by the time cap: ${
            capped.map((c) => `${c.config} ${c.net} ${c.size}² n=${c.timing!.summary.n}`).join(", ")
          }).`
          : "."),
    );
    const notes = r.latency.rows.filter((x) =>
      x.notes.length || x.error ||
      (x.threads_used !== null && x.threads_used !== eng.find((e) => e.id === x.config)?.threads)
    );
    for (const x of notes) {
      out.push(
        `- ${x.config} ${x.net} ${x.size}²: ${x.error ? `error: ${x.error.slice(0, 200)}` : ""}${
          x.threads_used !== null ? ` threads used ${x.threads_used}` : ""
        }${x.notes.length ? `; ${x.notes.join("; ")}` : ""}`,
      );
    }
    const gpu = eng.find((e) => e.id === "webgpu");
    if (gpu?.available && gpu.software) {
      out.push(
        `- WebGPU ran on a **software adapter** (${gpu.reason}): its times are those of a CPU rasteriser, not of a GPU.`,
      );
    }
    out.push("");
  }

  // 2. limits
  out.push(...renderPeak(r, sizes));

  // 3. int8
  if (r.quant) {
    out.push(`## 3. fp32 vs int8`);
    out.push("");
    out.push(`${r.quant.note} Measured by ${r.quant.measured_by}.`);
    out.push("");
    if (r.quant.rows.length) {
      const nOf = (sp: { model: string; config: string }, p: string) =>
        r.quant!.rows.find((x) =>
          x.model === sp.model && x.config === sp.config && x.precision === p
        )?.n ?? "?";
      const rows = r.quant.speedups.map((
        s,
      ) => [
        s.model,
        s.config,
        `${ms(s.fp32_ms)} (n=${nOf(s, "fp32")})`,
        `${ms(s.int8_ms)} (n=${nOf(s, "int8")})`,
        `**${s.fp32_over_int8}×**`,
      ]);
      out.push(
        table([
          "model",
          "engine",
          "fp32 median ms",
          "int8 median ms",
          "fp32/int8 (>1: int8 faster)",
        ], rows),
      );
      const failed = r.quant.rows.filter((x) => x.error);
      for (const f of failed) out.push(`- ${f.model} ${f.precision} on ${f.config}: ${f.error}`);
      const dims = r.quant.rows[0]?.dims;
      out.push("");
      const runs = r.quant.measured_by.startsWith("bench/quant.ts")
        ? ` Warm-up ${r.plans.quant.warmup} excluded, ≥ ${r.plans.quant.minRuns} timed runs (up to ${r.plans.quant.maxRuns} or ${
          r.plans.quant.budgetMs / 1000
        } s).`
        : " Warm-up runs excluded by the script; n timed runs per precision, interleaved.";
      out.push(
        `Input ${dims?.join("×")}; files: ${
          [...new Set(r.quant.rows.map((x) => `${x.precision} ${mib(x.file_bytes)}`))].join(", ")
        }.${runs}`,
      );
    }
    out.push("");
  }

  // 4. HTTP
  if (r.http || r.cold_start) out.push(`## 4. Serving: HTTP under load, memory, cold start`, "");
  if (r.http) {
    const h = r.http;
    const rt = (h.server_runtime[0] ?? {}) as {
      engine?: string;
      threads?: number;
      precision?: string;
    };
    const loaded = (h.server_runtime as { model?: string; engine?: string; threads?: number }[])
      .map((x) => `${x.model} (${x.engine}, ${x.threads} thread(s))`).join(", ");
    out.push(
      `Real server (\`deno task serve\`, loopback, default settings, model repository \`models/\` with ${
        loaded || "?"
      } loaded; requests go to the default model${
        h.default_model ? ` ${h.default_model}` : ""
      }; engine ${rt.engine ?? "?"}, ${rt.threads ?? "?"} thread(s), ${
        rt.precision ?? "?"
      }); load from autocannon ${v.autocannon} in the benchmark process on the same ${m.nproc} CPUs: ${h.path}, body \`${h.image}\` (${
        num(h.image_bytes)
      } bytes). Each level: ${h.levels[0]?.warmup_s ?? "?"} s warm-up (excluded), then ${
        h.levels[0]?.duration_s ?? "?"
      } s timed. Latency percentiles over the 2xx responses' exact times.`,
    );
    out.push("");
    out.push(table(
      [
        "connections",
        "req/s (2xx)",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "2xx",
        "non-2xx",
        "of which 503",
        "socket errors",
        "timeouts",
        "RSS after, MiB",
      ],
      h.levels.map((
        l,
      ) => [
        l.connections,
        l.throughput_rps,
        ms(l.latency_ms.p50),
        ms(l.latency_ms.p90),
        ms(l.latency_ms.p99),
        ms(l.latency_ms.max),
        num(l.ok_2xx),
        l.non_2xx,
        l.http_503,
        l.errors,
        l.timeouts,
        l.rss_after_mib ?? "–",
      ]),
    ));
    out.push("");
    for (const vr of h.variants ?? []) {
      const vrt = (vr.server_runtime[0] ?? {}) as { engine?: string; threads?: number };
      out.push("");
      out.push(
        `Same load, server started with \`${vr.label}\` (engine ${vrt.engine ?? "?"}, ${
          vrt.threads ?? "?"
        } thread(s)); peak RSS ${vr.hwm_end_mib} MiB:`,
      );
      out.push("");
      out.push(table(
        ["connections", "req/s (2xx)", "p50 ms", "p90 ms", "p99 ms", "non-2xx", "socket errors"],
        vr.levels.map((
          l,
        ) => [
          l.connections,
          l.throughput_rps,
          ms(l.latency_ms.p50),
          ms(l.latency_ms.p90),
          ms(l.latency_ms.p99),
          l.non_2xx,
          l.errors,
        ]),
      ));
    }
    out.push("");
    out.push(
      `Server memory (VmRSS): ${h.rss_before_mib} MiB ready and idle, ${h.rss_end_mib} MiB after all levels; peak (VmHWM) ${h.hwm_end_mib} MiB.`,
    );
    out.push("");
  }
  if (r.cold_start) {
    const c = r.cold_start;
    const figures = (x: CommandStarts) =>
      `median **${ms(x.ready_ms.median_ms)} ms**, p90 ${
        ms(x.ready_ms.p90_ms)
      } ms, n=${x.samples_ms.length} (samples ${
        x.samples_ms.join(", ")
      }); one earlier start excluded (${x.excluded_first_ms} ms). The server's own "ready" log (module loaded → models warm): ${
        x.logged_ready_ms.join(", ")
      } ms. RSS once ready: ${x.rss_at_ready_mib.join(", ")} MiB.`;
    if (c.serve) {
      out.push(
        `**Cold start** (spawn → first 200 from \`/v2/health/ready\`, polled every 5 ms; the two commands started in turn, same settings):`,
        "",
        `- the deployed command (the container's entrypoint = the systemd unit's, \`--cached-only --node-modules-dir=manual\` as in the offline bundle's launcher): ${
          figures(c)
        }`,
        `- \`deno task serve\`'s command (\`nodeModulesDir: auto\`: each start re-checks the installed packages): ${
          figures(c.serve)
        }`,
      );
    } else {
      out.push(
        `**Cold start** (spawn of \`deno task serve\`'s command → first 200 from \`/v2/health/ready\`, polled every 5 ms): ${
          figures(c)
        }`,
      );
    }
    out.push("");
  }

  out.push(...renderMemorySettings(r));
  out.push(...renderSparse(r));
  out.push(...renderVersus(r));

  // 5. profile
  if (r.profile?.stages) {
    const p = r.profile.stages;
    out.push(`## 5. Where the time goes (one request)`);
    out.push("");
    out.push(
      `In process, with the server's code and settings: model ${p.model}, engine ${p.engine} (${p.threads} thread(s)), image ${p.image.width}×${p.image.height} PNG (${
        num(p.image.bytes)
      } bytes) → tensor ${p.tensor_dims.join("×")}; ${p.warmup} warm-up + ${p.runs} runs.`,
    );
    out.push("");
    out.push(
      table(
        ["stage", "median ms", "p90 ms", "share of a PNG response"],
        Object.entries(p.stages).map((
          [k, s],
        ) => [
          k,
          ms(s.median_ms),
          ms(s.p90_ms),
          p.share_png_percent[k] !== undefined ? `${p.share_png_percent[k]} %` : "(JSON responses)",
        ]),
      ),
    );
    out.push("");
    out.push(`Σ medians for a PNG response: **${ms(p.total_png_median_ms)} ms**.`);
    out.push("");
  }
  if (r.profile?.http) {
    const h = r.profile.http;
    out.push(
      `Over HTTP at concurrency 1 (${h.requests} requests per format, after warm-up): round trip PNG ${
        ms(h.rtt_png.median_ms)
      } ms (p90 ${ms(h.rtt_png.p90_ms)}), JSON ${ms(h.rtt_json.median_ms)} ms (p90 ${
        ms(h.rtt_json.p90_ms)
      }). Server-reported stage medians: ${
        Object.entries(h.server_stages_median_ms).map(([k, v]) => `${k} ${ms(v)}`).join(", ")
      }; the rest of the JSON round trip (HTTP, routing, body read, summary, response write, client) ${
        ms(h.http_and_other_ms)
      } ms. Example header: \`Server-Timing: ${h.server_timing_example}\`.`,
    );
    out.push("");
  }
  out.push(...renderCodecStages(r));
  const short = shortfalls(r);
  if (short) out.push(short, "");

  // method
  out.push(`## Method`);
  out.push("");
  out.push([
    `- Every figure is measured in this run; nothing is carried over. Warm-up runs are excluded everywhere; medians and percentiles interpolate linearly between order statistics of the timed runs (d3-array \`quantile\`, NumPy's default; n given).`,
    `- Student and teacher are timed back to back per engine and size (student first), so background load hits both alike; the ratio is teacher median / student median.`,
    `- Inputs: deterministic pseudo-random NCHW float32 in [-1, 1), batch 1. Engine runs go through the serving engines in \`src/engines/\` (wasm/webgpu in a Worker, so their times include the message copy of input and output), in a process whose glibc mmap threshold is fixed as the server fixes it (\`bench/allocator.ts\`).`,
    `- FLOPs (\`bench/flops.ts\`): shapes propagated through the ONNX graph; each Conv charged N·H_out·W_out·|W| MACs, each ConvTranspose N·H_in·W_in·|W|; FLOPs = 2 × MACs; bias, ReLU, pooling, concat not counted. Achieved GFLOP/s = FLOPs / median latency.`,
    `- Arithmetic intensity: FLOPs / Σ over convs of fp32 bytes of input + weights + output (each layer read and written once; reuse through caches across layers ignored).`,
    `- Peak: see section 2 (C probe for the physical limit, a table × clock for the theoretical one, GEMM/conv on each engine for the achievable one).`,
    `- HTTP: autocannon drives the real server process on 127.0.0.1; both share the machine's CPUs. RSS from /proc/<pid>/status.`,
  ].join("\n"));
  out.push("");
  if (r.dicom_node) {
    const d = r.dicom_node;
    out.push(`## DICOM node: added latency over /v1`, "");
    out.push(
      `${d.instances} instances (${d.size}), one at a time, against a real Orthanc on loopback. ${d.note}.`,
      "",
      `| path | median ms | p90 ms | min ms | max ms |`,
      `| --- | --- | --- | --- | --- |`,
      `| POST /v1/models/hc18/segment?format=dicom-seg | ${d.v1_dicom_seg_ms.median_ms} | ${d.v1_dicom_seg_ms.p90_ms} | ${d.v1_dicom_seg_ms.min_ms} | ${d.v1_dicom_seg_ms.max_ms} |`,
      `| storescu → node → C-STORE → Orthanc acknowledged | ${d.node_receive_to_ack_ms.median_ms} | ${d.node_receive_to_ack_ms.p90_ms} | ${d.node_receive_to_ack_ms.min_ms} | ${d.node_receive_to_ack_ms.max_ms} |`,
      "",
      `Added (median difference): **${d.added_median_ms} ms**.`,
      "",
    );
  }
  if (r.scripts?.length) {
    out.push(`## Standalone scripts (run as they are, output kept in results.json)`);
    out.push("");
    for (const c of r.scripts) {
      if (!c.present) {
        out.push(`- \`${c.script}\`: not present in this checkout.`);
        continue;
      }
      if (c.note) {
        out.push(`- \`${c.script}\`: ${c.note}.`);
        continue;
      }
      out.push(
        `- \`${c.script}\`: exit ${c.exit_code}, ${c.seconds} s${
          c.json?.length
            ? `: \`${JSON.stringify(c.json[c.json.length - 1]).slice(0, 600)}\``
            : `; output: ${c.tail?.slice(-300)}`
        }`,
      );
    }
    out.push("");
  }
  if (r.errors.length) {
    out.push(`## Parts that failed`);
    out.push("");
    for (const e of r.errors) out.push(`- ${e.part}: ${e.error.split("\n")[0]}`);
    out.push("");
  }
  return out.join("\n");
}

/** Where each unmet target's time goes, from the profile and the latency rows. */
function shortfalls(r: BenchResults): string {
  const missed = r.targets.filter((t) => t.met === false);
  if (!missed.length) return "";
  const out = [`### Shortfalls and where the time goes`, ""];
  const p = r.profile?.stages;
  const groups: { why: string; lines: string[] }[] = [];
  for (const t of missed) {
    let why = "";
    if (t.id.startsWith("http_") && p) {
      const main = p.stages.decode.median_ms + p.stages.preprocess.median_ms +
        p.stages.postprocess.median_ms + p.stages.encode_png.median_ms;
      const inf = p.stages.inference.median_ms;
      const httpOther = r.profile?.http ? Math.max(0, r.profile.http.http_and_other_ms) : 0;
      why =
        `Per request the JS main thread does decode + preprocess + postprocess + PNG encode = ${
          ms(main)
        } ms (plus ≈ ${
          ms(httpOther)
        } ms HTTP, routing, body I/O and client: JSON round trip minus the server's stage times at concurrency 1), ` +
        `so one thread serves at most ≈ ${
          Math.floor(1000 / (main + httpOther || 1))
        } req/s; the engine run (${
          ms(inf)
        } ms, ${p.threads} thread(s), runs serialised per model by its queue) caps it at ≈ ${
          Math.floor(1000 / (inf || 1))
        } req/s; ` +
        `autocannon shares the same ${r.load.nproc} CPUs. At concurrency 8 requests queue behind each other, so p99 ≈ queue depth × per-request time.`;
      for (const vr of r.http?.variants ?? []) {
        const v8 = vr.levels.find((l) => l.connections === 8);
        const d8 = r.http?.levels.find((l) => l.connections === 8);
        if (v8 && d8) {
          why +=
            ` With \`${vr.label}\` the same load gives ${v8.throughput_rps} req/s (p99 ${
              ms(v8.latency_ms.p99)
            } ms) against ${d8.throughput_rps} req/s (p99 ${
              ms(d8.latency_ms.p99)
            } ms) by default: ` +
            `on ${r.load.nproc} cores, two intra-op threads compete with the JS thread and the load generator.`;
        }
      }
    } else if (t.id.startsWith("student_native") || t.id.startsWith("ratio_native")) {
      why =
        `The student's run is dominated by fixed per-node and per-run costs, not FLOPs (section 2); under load its time inflates more than the teacher's (short runs lose whole scheduler slices).` +
        (p
          ? ` In the serving path the engine is ${
            p.share_png_percent.inference ?? "?"
          } % of a request.`
          : "");
    } else if (t.id.startsWith("wasm_vs_native")) {
      why =
        `Both run the direct kernels; WebAssembly's vectors are 128-bit (4 floats, no FMA) against native AVX2/AVX-512 (8/16 floats), so at equal efficiency wasm starts 2× (AVX2) or 4× (AVX-512) behind: see "The direct kernels at each vector width" (native held to the same width as wasm runs as fast), and the floor rows in section 2 (each wasm run crosses a Worker boundary).`;
    } else if (t.id === "rss") {
      why =
        `Deno + V8 + onnxruntime-node are resident before any model is loaded; see the RSS at ready in the cold-start line.`;
    } else if (t.id === "dicom_node_added") {
      why =
        `The node's path adds the Part 10 framing, the outbox write (synced to disk before the C-STORE is acknowledged) and the association and C-STORE to Orthanc, whose own storing time is inside the measure.`;
    } else if (t.id === "cold_start") {
      why =
        `Cold start = Deno start + module graph load + engine load + model warm-up; the server's own "ready" log time is the part after module loading. The goal is checked on the deployed command; \`deno task serve\`'s is in section 4.`;
    }
    const prev = groups.find((x) => x.why === why);
    const line = `**${t.goal}** (${t.where}): ${measured(t)} — ${t.gap}`;
    if (prev) prev.lines.push(line);
    else groups.push({ why, lines: [line] });
  }
  for (const gr of groups) out.push(`- ${gr.lines.join("; ")}. ${gr.why}`);
  return out.join("\n");
}

/** Part `memory`: the memory settings now against before, side by side. */
function renderMemorySettings(r: BenchResults): string[] {
  const m = r.memory;
  if (!m) return [];
  const out = [
    `**Memory settings, now against before** (part \`memory\`, bench/memory_settings.ts; ${
      m.runs.length / m.configs.length
    } alternating rounds; "before": ${
      Object.entries(m.configs[0].env).map(([k, v]) => `${k}=${v}`).join(" ")
    }; a configuration without a command runs \`deno task serve\`'s). RSS in MiB, medians:`,
    "",
    `| configuration | ready ms | idle | peak through c=8 (VmHWM) | right after c=8 | 3 s later | lanes idle (18 s later) | req/s at c=8 | V2 30 MB tensor: peak growth | kept 3 s after |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ];
  for (const s of m.summary) {
    const config = m.configs.find((c) => c.id === s.config);
    const args = config?.args ? ` (\`deno ${config.args.join(" ")}\`)` : "";
    out.push(
      `| ${config?.label ?? s.config}${args} | ${s.ready_ms} | ${s.rss_idle_mib} | ${
        s.hwm_load_mib ?? "—"
      } | ${s.rss_after_load_mib} | ${s.rss_after_load_3s_mib} | ${
        s.rss_lanes_idle_mib ?? "—"
      } | ${s.requests_per_s} | ${s.v2_peak_growth_mib ?? "—"} | ${s.v2_kept_mib ?? "—"} |`,
    );
  }
  out.push("");
  return out;
}

/** Part `sparse`: requests one at a time with a pause, the native arena on and off. */
function renderSparse(r: BenchResults): string[] {
  const sp = r.sparse;
  if (!sp) return [];
  const out = [
    `**Requests one at a time** (part \`sparse\`, bench/sparse.ts: per model ${sp.requests_per_round} requests ${sp.gap_ms} ms apart, 3 s after ready, ${sp.rounds} alternating rounds; the first request of each apart; medians over the others). Inference is the server's own \`Server-Timing\`; faults are the server's minor page faults per request:`,
    "",
    `| configuration | model | first request: inference ms | inference ms (p90) | round trip ms | page faults / request |`,
    `| --- | --- | ---: | ---: | ---: | ---: |`,
  ];
  for (const row of sp.rows) {
    out.push(
      `| ${SPARSE_CONFIGS.find((c) => c.id === row.config)?.label ?? row.config} | ${row.model} | ${
        row.first_inference_ms.join(", ")
      } | ${row.inference_ms} (${row.inference_p90_ms}) | ${row.round_trip_ms} | ${row.faults_per_request} |`,
    );
  }
  out.push("");
  return out;
}
