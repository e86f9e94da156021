/**
 * The `quantization` block a quantisation writes into the model card: how it was done
 * (method, granularity, types), on what (calibration folder, image count and hash, the
 * fp32 file's hash), what was quantised or left fp32, sizes, and the agreement check.
 *
 * @module
 */
import type { onnx } from "../../src/onnx/proto.ts";
import type { AgreementCheck } from "./agreement.ts";
import type { CalibrationSet } from "./calibration_images.ts";
import type { QuantizeOptions } from "./options.ts";
import type { QuantPlan } from "./plan.ts";
import type { QdqReport } from "./qdq.ts";

/** The card's `quantization` block. */
export type QuantizationRecord = Record<string, unknown>;

/** What went into one quantisation, for its record. */
export interface RecordInputs {
  options: QuantizeOptions;
  set: CalibrationSet;
  engine: string;
  plan: QuantPlan;
  qdq: QdqReport;
  model: onnx.IModelProto;
  foldedBatchNorms: number;
  source: { file: string; sha256: string; size: number };
  int8Size: number;
  check: AgreementCheck;
}

/** Counts strings. */
export function countBy(items: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

/** Builds the record. */
export function quantizationRecord(r: RecordInputs): QuantizationRecord {
  const o = r.options;
  return {
    tool: "tools/quantize (Deno, QDQ)",
    date: new Date().toISOString(),
    file: o.output,
    format: "QDQ (QuantizeLinear/DequantizeLinear); onnxruntime fuses it into QLinear ops",
    method: o.method,
    ...(o.method === "percentile" ? { percentile: o.percentile } : {}),
    per_channel: o.perChannel,
    weights: `int8 symmetric ${o.reduceRange ? "[-63, 63] (reduce_range)" : "[-127, 127]"}, ${
      o.perChannel ? "per output channel" : "per tensor"
    }`,
    activations: `${o.activationType} asymmetric, per tensor`,
    bias: r.qdq.floatBiases.length
      ? `int32 (${r.qdq.floatBiases.length} kept fp32: would overflow)`
      : "int32 (scale = input scale × weight scale)",
    reduce_range: o.reduceRange,
    ...(o.minChannels ? { min_channels: o.minChannels } : {}),
    calibration: {
      folder: o.calibFolder,
      images: r.set.files.length,
      skipped: r.set.skipped.length,
      sha256: r.set.sha256,
      engine: r.engine,
    },
    batchnorm_folded: r.foldedBatchNorms,
    ops_quantized: countBy([...r.plan.nodes].map((n) => n.opType ?? "")),
    relu_fused: r.plan.fusedRelus.size,
    ops_fp32: countBy(r.plan.skipped.map((s) => s.op)),
    left_fp32: r.plan.skipped.slice(0, 20),
    tensors_quantized: r.qdq.activations,
    outputs_fp32: (r.model.graph?.output ?? []).map((v) => v.name),
    source: { file: r.source.file, sha256: r.source.sha256 },
    sizes: {
      fp32_bytes: r.source.size,
      int8_bytes: r.int8Size,
      ratio: Math.round((r.int8Size / r.source.size) * 1e4) / 1e4,
    },
    check: r.check,
  };
}
