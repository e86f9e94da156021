/**
 * The shape of `bench/results.json`: everything one run measured, with the machine, the
 * versions and the load it ran under. `report.ts` renders it to RESULTS.md.
 *
 * @module
 */
import type { ColdStart } from "./cold_start.ts";
import type { SparseResult } from "./sparse.ts";
import type { DicomNodeBench } from "./dicom_node.ts";
import type { MemorySettingsResult } from "./memory_settings.ts";
import type { ScriptResult } from "./scripts.ts";
import type { EngineConfig } from "./engines.ts";
import type { FlopCount } from "./flops.ts";
import type { LoadLevel } from "./http_load.ts";
import type { LatencyRatio, LatencyRow } from "./latency.ts";
import type { BusyProcess, LoadSample } from "./machine.ts";
import type { machineInfo } from "./machine.ts";
import type { NetRole } from "./models.ts";
import type { KernelRow, ProbeResult } from "./peak.ts";
import type { HttpProfile, StageProfile } from "./profile.ts";
import type { QuantResult } from "./quant.ts";
import type { Part } from "./settings.ts";
import type { RunPlan } from "./stats.ts";
import type { VersusResult } from "./versus.ts";

/** One net as reported (bytes left out). */
export interface NetReport {
  role: NetRole;
  width: number;
  file: string;
  file_bytes: number;
  params_onnx: number;
  params_torch: number | null;
  /** by size: FLOPs from flops.ts (layers left out) */
  flops: Record<string, Omit<FlopCount, "layers">>;
  /** by size: PyTorch nets.flops_at, when exported from PyTorch */
  flops_torch: Record<string, number> | null;
}

/** The server with other settings. */
export interface HttpVariantResult {
  label: string;
  env: Record<string, string>;
  server_runtime: unknown[];
  levels: LoadLevel[];
  hwm_end_mib: number | null;
}

/** A part that failed as a whole. */
export interface PartError {
  part: string;
  error: string;
}

/** All results of one run. */
export interface BenchResults {
  schema: 1;
  mode: "full" | "quick";
  started_at: string;
  finished_at: string;
  duration_s: number;
  command: string;
  machine: Awaited<ReturnType<typeof machineInfo>>;
  load: {
    nproc: number;
    start: LoadSample;
    end: LoadSample | null;
    samples: LoadSample[];
    busiest_at_start: BusyProcess[];
    busiest_at_end: BusyProcess[];
  };
  plans: Record<string, RunPlan>;
  nets: {
    source: "pytorch" | "builder";
    note: string;
    torch_version: string | null;
    onnx_version: string | null;
    student: NetReport;
    teacher: NetReport;
    /** 1 − student/teacher ONNX parameters, % */
    param_reduction_percent: number;
    /** teacher/student FLOPs by size */
    flop_ratio: Record<string, number>;
  };
  engines: EngineConfig[];
  latency: { sizes: number[]; rows: LatencyRow[]; ratios: LatencyRatio[] } | null;
  peak: {
    probe: ProbeResult;
    theoretical: {
      flop_per_cycle: number;
      basis: string;
      clock_ghz: number;
      clock_source: string;
      per_core_gflops: number;
      all_cores_gflops: number;
    } | null;
    kernels: KernelRow[];
    /** the size the peak part's student row was timed at (absent in older results) */
    student_size?: number;
  } | null;
  quant: QuantResult | null;
  http: {
    server_runtime: unknown[];
    default_model: string | null;
    path: string;
    image: string;
    image_bytes: number;
    rss_before_mib: number | null;
    rss_after_warmup_mib: number | null;
    rss_end_mib: number | null;
    hwm_end_mib: number | null;
    levels: LoadLevel[];
    server_log_lines: number;
    variants: HttpVariantResult[];
  } | null;
  versus?: VersusResult | null;
  cold_start: ColdStart | null;
  /** memory settings now against before (part `memory`; absent in older results) */
  memory?: MemorySettingsResult | null;
  /** requests one at a time with pauses, arena on and off (part `sparse`; absent in older results) */
  sparse?: SparseResult | null;
  profile: { stages: StageProfile | null; http: HttpProfile | null } | null;
  /** the DICOM node's added latency over /v1 (part `dicom`; absent in older results) */
  dicom_node?: DicomNodeBench | null;
  scripts: ScriptResult[] | null;
  /** parts not run this time whose figures were kept from an earlier run (`--keep`): part → that run's start */
  carried?: Partial<Record<Part, string>>;
  targets: Target[];
  errors: PartError[];
}

/** One goal and how the run did. */
export interface Target {
  id: string;
  goal: string;
  /** measured value (null when the part did not run) */
  measured: number | null;
  unit: string;
  /** configuration or condition it was measured under */
  where: string;
  met: boolean | null;
  /** how far from the goal, in words */
  gap: string;
}
