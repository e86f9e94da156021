/**
 * Quantises a model version in place: reads its fp32 ONNX, folds BatchNormalization,
 * calibrates activation ranges on a folder of images (server preprocessing, an engine run
 * of a copy that exposes the intermediate tensors), writes `model.int8.onnx` in QDQ form,
 * checks it loads and agrees with fp32 on one image, and records everything in the card
 * (`files.int8` and a `quantization` block). Files are replaced atomically; the fp32 model
 * is never written.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import type { EngineName, Tensor } from "../../src/engines/engine.ts";
import { selectEngine } from "../../src/engines/select.ts";
import { postprocess } from "../../src/imaging/postprocess.ts";
import { readEntry } from "../../src/models/repository.ts";
import { decodeModel, encodeModel, type onnx, toNumber } from "../../src/onnx/proto.ts";
import { calibrate, probeFloatTensors } from "./calibrate.ts";
import { calibrationInputs, scanCalibrationFolder } from "./calibration_images.ts";
import { sha256Hex, updateCard, writeFileAtomic } from "./card_file.ts";
import { foldBatchNorm } from "./fold_batchnorm.ts";
import { inlineExternalData } from "./tensor_data.ts";
import { GraphIndex } from "./graph_index.ts";
import { planQuantization, type QuantPlan } from "./plan.ts";
import { applyQdq, type QdqReport } from "./qdq.ts";
import { activationParams, type ActivationType, type QParams } from "./qparams.ts";
import type { CalibrationMethod } from "./ranges.ts";
import { preprocess } from "../../src/imaging/preprocess.ts";
import { decodeImage } from "../../src/imaging/decode.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/imaging/image.ts";

/** Options of {@link quantizeModelVersion}. */
export interface QuantizeOptions {
  /** the version folder, e.g. `models/isic2017/1` */
  modelDir: string;
  /** folder of calibration images (train split, or the clinic's own) */
  calibFolder: string;
  method: CalibrationMethod;
  perChannel: boolean;
  activationType: ActivationType;
  reduceRange: boolean;
  maxImages: number;
  /** percentile method: share of values kept */
  percentile: number;
  /** Conv/ConvTranspose with fewer output channels stay fp32 (0: quantise all) */
  minChannels: number;
  /** make int8 the card's default precision */
  setDefault: boolean;
  /** engine that runs calibration */
  engine: EngineName;
  threads?: number;
  /** output file name inside the version folder */
  output: string;
  log?: (message: string) => void;
  warn?: (message: string) => void;
}

/** Defaults for everything but the two folders. */
export const DEFAULT_QUANTIZE_OPTIONS: Omit<QuantizeOptions, "modelDir" | "calibFolder"> = {
  method: "minmax",
  perChannel: true,
  activationType: "uint8",
  reduceRange: false,
  minChannels: 0,
  maxImages: 200,
  percentile: 99.999,
  setDefault: false,
  engine: "native",
  output: "model.int8.onnx",
};

/** The `quantization` block written into the card. */
export type QuantizationRecord = Record<string, unknown>;

/** What a quantisation produced. */
export interface QuantizeResult {
  path: string;
  record: QuantizationRecord;
  plan: QuantPlan;
  qdq: QdqReport;
}

/** Thrown for a model that cannot be quantised (the model folder is left untouched). */
export class QuantizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuantizeError";
  }
}

function countBy(items: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

/** Resolves every tensor's scale/zero point; shared tensors copy their source's. */
function resolveParams(
  plan: QuantPlan,
  ranges: Map<string, [number, number]>,
  type: ActivationType,
): Map<string, QParams> {
  const params = new Map<string, QParams>();
  for (const [t, [lo, hi]] of ranges) params.set(t, activationParams(lo, hi, type));
  for (const t of plan.tensors) {
    let source = t;
    for (let hops = 0; plan.shared.has(source) && hops < 1000; hops++) {
      source = plan.shared.get(source)!;
    }
    const p = params.get(source);
    if (!p) throw new QuantizeError(`tensor ${t} has no calibration range`);
    params.set(t, p);
  }
  return params;
}

/** Reads and decodes the fp32 model; a clear error when it is not ONNX. */
async function readFloatModel(
  path: string,
): Promise<{ bytes: Uint8Array; model: onnx.IModelProto }> {
  const bytes = await Deno.readFile(path).catch((err) => {
    throw new QuantizeError(`cannot read ${path}: ${err.message}`);
  });
  let model: onnx.IModelProto;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new QuantizeError(`${path}: ${(err as Error).message}`);
  }
  const opset = toNumber(
    (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx")?.version as number,
  );
  if (opset < 13) {
    throw new QuantizeError(
      `${path}: opset ${opset}; per-channel QDQ needs opset 13 or later (re-export the model)`,
    );
  }
  return { bytes, model };
}

/**
 * Quantises one model version and updates its card.
 * @throws {QuantizeError} for a model that is not ONNX, too old an opset, or nothing quantisable
 * @throws {CalibrationDataError} for a calibration folder without usable images
 */
export async function quantizeModelVersion(opts: QuantizeOptions): Promise<QuantizeResult> {
  const log = opts.log ?? (() => {});
  const dir = resolve(opts.modelDir);
  const entry = await readEntry(dirname(dirname(dir)), basename(dirname(dir)), basename(dir));
  const card = entry.card;
  const fp32Path = join(dir, card.files.fp32);
  const { bytes: fp32Bytes, model } = await readFloatModel(fp32Path);

  let externalBytes: number;
  try {
    externalBytes = inlineExternalData(model, dir);
  } catch (err) {
    throw new QuantizeError(`${fp32Path}: ${(err as Error).message}`);
  }
  const fp32Inline = externalBytes ? encodeModel(model) : fp32Bytes;
  const fp32Size = fp32Bytes.length + externalBytes;
  const folded = foldBatchNorm(model, dir);
  const set = await scanCalibrationFolder(opts.calibFolder, opts.maxImages, opts.warn);
  const { engine } = await selectEngine(opts.engine);
  const inputName = card.input.name;
  const feeds = async function* () {
    for await (const { file, tensor } of calibrationInputs(set, card.input)) {
      yield { file, feeds: { [inputName]: tensor } };
    }
  };
  const index = new GraphIndex(model.graph!);
  for await (const first of feeds()) {
    index.markFloat(await probeFloatTensors(model, first.feeds, engine, opts.threads));
    break;
  }
  const plan = planQuantization(model.graph!, index, { minChannels: opts.minChannels });
  if (plan.nodes.size === 0) {
    const why = plan.skipped.slice(0, 8).map((s) => `${s.op} ${s.node}: ${s.reason}`).join("; ");
    throw new QuantizeError(`${fp32Path}: nothing could be quantised (${why})`);
  }
  log(
    `${entry.name}/${entry.version}: ${plan.nodes.size} nodes to quantise, ${plan.skipped.length} left fp32, ${folded} BatchNormalization folded`,
  );
  log(
    `calibrating on ${set.files.length} images from ${opts.calibFolder} (${set.skipped.length} skipped), method ${opts.method}`,
  );
  const calibrated = plan.tensors.filter((t) => !plan.shared.has(t));
  const ranges = await calibrate(model, calibrated, feeds, {
    engine,
    method: opts.method,
    percentile: opts.percentile,
    threads: opts.threads,
    progress: (pass, done) => {
      if (done % 25 === 0 || done === set.files.length) {
        log(`  pass ${pass}: ${done}/${set.files.length} images`);
      }
    },
  });
  const params = resolveParams(plan, ranges, opts.activationType);
  const qdq = applyQdq(model, plan, params, { ...opts, modelDir: dir });
  model.metadataProps = [
    ...(model.metadataProps ?? []).filter((p) => p.key !== "tinyunet.quantization"),
    {
      key: "tinyunet.quantization",
      value: JSON.stringify({
        method: opts.method,
        per_channel: opts.perChannel,
        calibration_sha256: set.sha256,
      }),
    },
  ];
  const int8Bytes = encodeModel(model);

  const check = await agreementCheck(
    engine,
    fp32Inline,
    int8Bytes,
    fp32Path,
    set.files[0],
    card,
    opts.threads,
  );
  const outPath = join(dir, opts.output);
  await writeFileAtomic(outPath, int8Bytes);

  const fp32Ops = countBy(plan.skipped.map((s) => s.op));
  const record: QuantizationRecord = {
    tool: "tools/quantize (Deno, QDQ)",
    date: new Date().toISOString(),
    file: opts.output,
    format: "QDQ (QuantizeLinear/DequantizeLinear), onnxruntime fuses to QLinear ops",
    method: opts.method,
    ...(opts.method === "percentile" ? { percentile: opts.percentile } : {}),
    per_channel: opts.perChannel,
    weights: `int8 symmetric ${opts.reduceRange ? "[-63, 63] (reduce_range)" : "[-127, 127]"}, ${
      opts.perChannel ? "per output channel" : "per tensor"
    }`,
    activations: `${opts.activationType} asymmetric, per tensor`,
    bias: qdq.floatBiases.length
      ? `int32 (${qdq.floatBiases.length} kept fp32: would overflow)`
      : "int32 (scale = input scale × weight scale)",
    reduce_range: opts.reduceRange,
    ...(opts.minChannels ? { min_channels: opts.minChannels } : {}),
    calibration: {
      folder: opts.calibFolder,
      images: set.files.length,
      skipped: set.skipped.length,
      sha256: set.sha256,
      engine: engine.name,
    },
    batchnorm_folded: folded,
    ops_quantized: countBy([...plan.nodes].map((n) => n.opType ?? "")),
    relu_fused: plan.fusedRelus.size,
    ops_fp32: fp32Ops,
    left_fp32: plan.skipped.slice(0, 20),
    tensors_quantized: qdq.activations,
    outputs_fp32: (model.graph!.output ?? []).map((o) => o.name),
    source: { file: card.files.fp32, sha256: await sha256Hex(fp32Bytes) },
    sizes: {
      fp32_bytes: fp32Size,
      int8_bytes: int8Bytes.length,
      ratio: round(int8Bytes.length / fp32Size, 4),
    },
    check,
  };
  await updateCard(dir, (raw) => {
    raw.files = {
      ...(raw.files as Record<string, unknown> ?? { fp32: "model.onnx" }),
      int8: opts.output,
    };
    raw.quantization = record;
    if (opts.setDefault) raw.precision = "int8";
    const metrics = raw.metrics as Record<string, unknown> | undefined;
    // int8 figures measured on a previous int8 file no longer apply
    if (metrics) {
      for (const k of Object.keys(metrics)) if (k.endsWith("_int8")) delete metrics[k];
    }
  });
  log(
    `wrote ${outPath} (${int8Bytes.length} bytes, ${
      round(100 * int8Bytes.length / fp32Size, 1)
    } % of fp32) and updated ${join(dir, "model.json")}`,
  );
  return { path: outPath, record, plan, qdq };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * Runs fp32 and int8 on one calibration image and measures how well they agree (the int8
 * file must also load: a graph onnxruntime rejects fails here, before anything is written).
 */
async function agreementCheck(
  engine: import("../../src/engines/engine.ts").Engine,
  fp32: Uint8Array,
  int8: Uint8Array,
  fp32Path: string,
  imageFile: string,
  card: import("../../src/models/card.ts").ModelCard,
  threads?: number,
): Promise<Record<string, unknown>> {
  const image = await decodeImage(await Deno.readFile(imageFile), undefined, DEFAULT_DECODE_LIMITS);
  const { tensor, geometry } = preprocess(image, card.input);
  const feeds: Record<string, Tensor> = { [card.input.name]: tensor };
  const run = async (bytes: Uint8Array, path: string) => {
    let session;
    try {
      session = await engine.createSession({ path, bytes, externalData: [] }, { threads });
    } catch (err) {
      throw new QuantizeError(
        `the quantised model does not load in ${engine.name}: ${(err as Error).message}`,
      );
    }
    try {
      return (await session.run(feeds))[card.output.name];
    } finally {
      await session.release();
    }
  };
  const a = await run(fp32, fp32Path);
  const b = await run(int8, "model.int8.onnx");
  let maxDiff = 0;
  for (let i = 0; i < a.data.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a.data[i] - b.data[i]));
  }
  const ma = postprocess(a, geometry, card.output.kind, card.threshold).mask;
  const mb = postprocess(b, geometry, card.output.kind, card.threshold).mask;
  let same = 0;
  for (let i = 0; i < ma.length; i++) if (ma[i] === mb[i]) same++;
  return {
    image: basename(imageFile),
    mask_agreement: round(same / ma.length, 5),
    max_abs_output_diff: round(maxDiff, 5),
  };
}
