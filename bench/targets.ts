/**
 * The figures the project aims at on this 2-core machine at 256², checked against a run:
 * each says the goal, what was measured, whether it was met, and by how much it falls
 * short (or clears).
 *
 * @module
 */
import { CODEC_STAGES_GOAL_MS, codecChoices } from "./report_codecs.ts";
import { studentRate, studentShareOfConvPeak } from "./peak_shares.ts";
import type { BenchResults, Target } from "./results.ts";
import { round } from "./stats.ts";

function check(
  id: string,
  goal: string,
  unit: string,
  where: string,
  measured: number | null | undefined,
  limit: number,
  kind: "max" | "min",
): Target {
  if (measured === null || measured === undefined || Number.isNaN(measured)) {
    return { id, goal, measured: null, unit, where, met: null, gap: "not measured in this run" };
  }
  const met = kind === "max" ? measured <= limit : measured >= limit;
  let gap: string;
  if (kind === "max") {
    gap = met
      ? (measured <= 0 ? "none" : `within, ${round(limit / measured, 2)}× headroom`)
      : `over by ${round(measured - limit, 2)} ${unit} (${round(measured / limit, 2)}× the limit)`;
  } else {
    gap = met
      ? `clears it by ${round(measured / limit, 2)}×`
      : `short by ${round(limit - measured, 2)} ${unit} (${
        round((100 * measured) / limit, 1)
      } % of the goal)`;
  }
  return { id, goal, measured: round(measured, 2), unit, where, met, gap };
}

/** Evaluates every goal; `size` is the size goals refer to (256, or the quick size). */
export function evaluateTargets(r: BenchResults, size: number): Target[] {
  const out: Target[] = [];
  const rows = r.latency?.rows ?? [];
  const med = (config: string, net: string) =>
    rows.find((x) => x.config === config && x.net === net && x.size === size && x.timing)?.timing
      ?.summary.median_ms;
  for (const t of [1, 2]) {
    const ratio = r.latency?.ratios.find((x) => x.config === `native-${t}t` && x.size === size)
      ?.teacher_over_student;
    out.push(
      check(
        `ratio_native_${t}t`,
        "teacher/student latency ≥ 110× on native",
        "×",
        `native ${t} thread(s), ${size}²`,
        ratio,
        110,
        "min",
      ),
    );
  }
  for (const t of [1, 2]) {
    out.push(
      check(
        `student_native_${t}t`,
        "student p50 ≤ 5 ms on native",
        "ms",
        `native ${t} thread(s), ${size}²`,
        med(`native-${t}t`, "student"),
        5,
        "max",
      ),
    );
  }
  for (const t of [1, 2]) {
    const w = med(`wasm-${t}t`, "student");
    const n = med(`native-${t}t`, "student");
    out.push(
      check(
        `wasm_vs_native_${t}t`,
        "wasm within 2× of native (student)",
        "×",
        `${t} thread(s), ${size}²`,
        w && n ? w / n : null,
        2,
        "max",
      ),
    );
  }
  for (const engine of ["native", "wasm"]) {
    for (const t of [1, 2]) {
      const config = `${engine}-${t}t`;
      const how = studentRate(r, config, size);
      out.push(
        check(
          `student_conv_peak_${config}`,
          "student ≥ 60 % of the engine's conv peak",
          "%",
          `${config}, ${size}², ${
            how && how.inFlight > 1 ? `${how.inFlight} runs at once` : "one run at a time"
          } (part peak)`,
          studentShareOfConvPeak(r, config, size),
          60,
          "min",
        ),
      );
    }
  }
  const c8 = r.http?.levels.find((l) => l.connections === 8);
  out.push(
    check(
      "http_c8_rps",
      "≥ 150 segmentations/s over HTTP at concurrency 8",
      "req/s",
      "POST /v1/segment, 256×192 PNG, 8 connections",
      c8?.throughput_rps,
      150,
      "min",
    ),
  );
  out.push(
    check(
      "http_c8_p99",
      "p99 ≤ 50 ms at concurrency 8",
      "ms",
      "8 connections",
      c8?.latency_ms.p99,
      50,
      "max",
    ),
  );
  out.push(
    check(
      "http_c8_errors",
      "zero errors at concurrency 8 (non-2xx + socket errors)",
      "errors",
      "8 connections",
      c8 ? c8.non_2xx + c8.errors : null,
      0,
      "max",
    ),
  );
  const rssMib = r.http ? Math.max(r.http.hwm_end_mib ?? 0, r.http.rss_end_mib ?? 0) : null;
  // 150 MB = 150·10⁶ bytes = 143.05 MiB
  out.push(
    check(
      "rss",
      "server RSS ≤ 150 MB (10⁶ B; = 143.05 MiB), peak (VmHWM) over the HTTP run",
      "MiB",
      "server process, after all load levels",
      rssMib || null,
      143.05,
      "max",
    ),
  );
  out.push(
    check(
      "cold_start",
      "cold start ≤ 500 ms (spawn → first 200 from /v2/health/ready), median",
      "ms",
      r.cold_start?.serve
        ? `deployed command, ${r.cold_start.starts} starts (deno task serve's: ${
          round(r.cold_start.serve.ready_ms.median_ms, 1)
        } ms)`
        : `${r.cold_start?.starts ?? 0} starts`,
      r.cold_start?.ready_ms.median_ms,
      500,
      "max",
    ),
  );
  out.push(
    check(
      "dicom_node_added",
      "DICOM node: added latency over /v1 (receive → SEG acknowledged by Orthanc) ≤ 50 ms at 256², median",
      "ms",
      `${r.dicom_node?.instances ?? 0} instances, one at a time`,
      r.dicom_node?.added_median_ms,
      50,
      "max",
    ),
  );
  const codecs = codecChoices(r);
  out.push(
    check(
      "codec_stages",
      `decode + preprocess + postprocess + encode ≤ ${CODEC_STAGES_GOAL_MS} ms (the bench's PNG)`,
      "ms",
      `${codecs?.size.join("×") ?? "?"} PNG, ${
        codecs?.model ?? "?"
      }, Σ stage medians (bench/codec_choices.ts)`,
      codecs?.stages_total_median_ms,
      CODEC_STAGES_GOAL_MS,
      "max",
    ),
  );
  out.push(...versusTargets(r));
  return out;
}

/** Issue 14's goals, from the side-by-side run against the FastAPI + PyTorch peer. */
function versusTargets(r: BenchResults): Target[] {
  const v = r.versus;
  const sum = (server: string, c: number) =>
    v?.summary.find((x) => x.server === server && x.connections === c);
  const srv = (id: string) => v?.servers.find((x) => x.id === id);
  const lvls = (id: string) => v?.levels.filter((l) => l.server === id) ?? [];
  const maxRss = (id: string) => {
    const xs = lvls(id).map((l) => l.rss_after_mib).filter((x): x is number => x !== null);
    return xs.length ? Math.max(...xs) : null;
  };
  return [
    check(
      "versus_c8_ratio",
      "c=8 throughput ≥ 2.5× the FastAPI + PyTorch peer's",
      "×",
      "wrk, same run, alternating rounds (our median round over the peer's best)",
      v?.ratios.find((x) => x.connections === 8)?.throughput,
      2.5,
      "min",
    ),
    check(
      "versus_c8_p99",
      "c=8 p99 ≤ 50 ms (wrk)",
      "ms",
      "ours, 8 connections, worst round",
      sum("ours", 8)?.p99_ms,
      50,
      "max",
    ),
    check(
      "versus_c1_p50",
      "c=1 p50 ≤ 6 ms round trip (wrk)",
      "ms",
      "ours, 1 connection, median of rounds",
      sum("ours", 1)?.p50_ms,
      6,
      "max",
    ),
    ...rssTargets(r, srv, maxRss),
  ];
}

/**
 * The RSS goals: from part `memory` when it ran (defaults, medians of its alternating rounds:
 * the controlled reading), else from part `versus` (its servers all start together; once
 * ready and right after each level). Idle: 2 s after ready. After c=8: 3 s after the load
 * (the reading this goal has had since it was set); native also once its idle engine lanes
 * (Workers loaded for the overlap, kept `TINYUNET_LANE_IDLE_MS` for the next burst) are
 * released — what the process keeps — as a second row.
 */
function rssTargets(
  r: BenchResults,
  srv: (id: string) => { rss_idle_mib: number | null } | undefined,
  maxRss: (id: string) => number | null,
): Target[] {
  const m = r.memory?.summary;
  const now = (id: string) => m?.find((x) => x.config === id);
  // the deployed command where the run has it (what an edge box starts), else deno task serve's
  const deployed = now("native-deployed");
  const native = deployed ?? now("native-now"), wasm = now("wasm-now");
  const rounds = r.memory ? r.memory.runs.filter((x) => x.config === "native-now").length : 0;
  const defaults = deployed ? "defaults, the deployed command" : "defaults";
  const source = (x: NonNullable<typeof native>, when: string) =>
    `part memory, ${defaults}, ${when}, median of ${rounds} (right after: ${x.rss_after_load_mib}${
      x.hwm_load_mib ? `; peak through the load: ${x.hwm_load_mib}` : ""
    })`;
  return [
    check(
      "rss_native_idle",
      "native idle RSS ≤ 120 MiB, four shipped models",
      "MiB",
      native
        ? `part memory, ${defaults}, 2 s after ready, median of ${rounds}`
        : "ours, once ready",
      native ? native.rss_idle_mib : srv("ours")?.rss_idle_mib,
      120,
      "max",
    ),
    check(
      "rss_native_load",
      "native RSS ≤ 160 MiB after c=8",
      "MiB",
      native
        ? source(native, "3 s after c=8 load (idle engine lanes still held)")
        : "ours, after every timed level",
      native ? native.rss_after_load_3s_mib : maxRss("ours"),
      160,
      "max",
    ),
    ...(native
      ? [check(
        "rss_native_load_settled",
        "native RSS ≤ 160 MiB after c=8, once idle lanes are released",
        "MiB",
        source(native, "TINYUNET_LANE_IDLE_MS + 3 s after c=8 load (lanes released)"),
        native.rss_lanes_idle_mib,
        160,
        "max",
      )]
      : []),
    check(
      "rss_wasm_idle",
      "wasm idle RSS ≤ 200 MiB",
      "MiB",
      wasm
        ? `part memory, TINYUNET_ENGINE=wasm, 2 s after ready, median of ${rounds}`
        : "TINYUNET_ENGINE=wasm, once ready",
      wasm ? wasm.rss_idle_mib : srv("ours-wasm")?.rss_idle_mib,
      200,
      "max",
    ),
    check(
      "rss_wasm_load",
      "wasm RSS ≤ 300 MiB after load",
      "MiB",
      wasm
        ? `part memory, TINYUNET_ENGINE=wasm, 3 s after c=8 load, median of ${rounds} (right after: ${wasm.rss_after_load_mib})`
        : "TINYUNET_ENGINE=wasm, after every timed level",
      wasm ? wasm.rss_after_load_3s_mib : maxRss("ours-wasm"),
      300,
      "max",
    ),
  ];
}
