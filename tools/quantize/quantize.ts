/**
 * Quantises a model version in place: reads its fp32 ONNX, folds BatchNormalization,
 * calibrates activation ranges on a folder of images (server preprocessing, an engine run
 * of a copy that exposes the intermediate tensors), writes `model.int8.onnx` in QDQ form,
 * checks it runs and agrees with fp32 on one image, and records everything in the card
 * (`files.int8` and a `quantization` block). Files are replaced atomically; the fp32 model
 * is never written.
 *
 * @example
 * ```ts
 * await quantizeModelVersion({ ...DEFAULT_QUANTIZE_OPTIONS, modelDir: "models/isic2017/1", calibFolder: "my-images" });
 * ```
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { selectEngine } from "../../src/engines/select.ts";
import { readEntry } from "../../src/models/repository.ts";
import { encodeModel } from "../../src/onnx/proto.ts";
import { agreementCheck } from "./agreement.ts";
import { calibrate, probeFloatTensors } from "./calibrate.ts";
import { calibrationInputs, scanCalibrationFolder } from "./calibration_images.ts";
import { updateCard, writeFileAtomic } from "../../src/models/card_file.ts";
import { modelSha256 } from "../../src/models/hash.ts";
import { QuantizeError } from "./errors.ts";
import { foldBatchNorm } from "./fold_batchnorm.ts";
import { GraphIndex } from "./graph_index.ts";
import type { QuantizeOptions } from "./options.ts";
import { planQuantization, type QuantPlan } from "./plan.ts";
import { applyQdq, type QdqReport } from "./qdq.ts";
import { activationParams, type ActivationType, type QParams } from "./qparams.ts";
import { type QuantizationRecord, quantizationRecord } from "./record.ts";
import { readSourceModel } from "./source_model.ts";

export { QuantizeError } from "./errors.ts";
export { DEFAULT_QUANTIZE_OPTIONS, type QuantizeOptions } from "./options.ts";
export type { QuantizationRecord } from "./record.ts";

/** What a quantisation produced. */
export interface QuantizeResult {
  path: string;
  record: QuantizationRecord;
  plan: QuantPlan;
  qdq: QdqReport;
}

/** Every planned tensor's scale/zero point; shared tensors (MaxPool outputs) copy their source's. */
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

/**
 * Quantises one model version and updates its card.
 * @throws {QuantizeError} for a model that is not ONNX, too old an opset, or nothing quantisable
 * @throws {CalibrationDataError} for a calibration folder without usable images
 * @throws {CardError} for a missing or invalid card
 */
export async function quantizeModelVersion(opts: QuantizeOptions): Promise<QuantizeResult> {
  const log = opts.log ?? (() => {});
  const dir = resolve(opts.modelDir);
  const { card, name, version } = await readEntry(
    dirname(dirname(dir)),
    basename(dirname(dir)),
    basename(dir),
  );
  const fp32Path = join(dir, card.files.fp32);
  const source = await readSourceModel(fp32Path, dir);
  const model = source.model;
  const folded = foldBatchNorm(model, dir);

  const set = await scanCalibrationFolder(opts.calibFolder, opts.maxImages, opts.warn);
  const { engine } = await selectEngine(opts.engine);
  const feeds = async function* () {
    for await (const { file, tensor } of calibrationInputs(set, card.input)) {
      yield { file, feeds: { [card.input.name]: tensor } };
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
    `${name}/${version}: ${plan.nodes.size} nodes to quantise, ${plan.skipped.length} left fp32, ${folded} BatchNormalization folded`,
  );
  log(
    `calibrating on ${set.files.length} images from ${opts.calibFolder} (${set.skipped.length} skipped), method ${opts.method}`,
  );

  const ranges = await calibrate(model, plan.tensors.filter((t) => !plan.shared.has(t)), feeds, {
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
  const qdq = applyQdq(model, plan, resolveParams(plan, ranges, opts.activationType), {
    ...opts,
    modelDir: dir,
  });
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
  const int8 = encodeModel(model);
  const check = await agreementCheck(
    engine,
    { fp32: source.inline, int8 },
    set.files[0],
    card,
    opts.threads,
  );

  const outPath = join(dir, opts.output);
  await writeFileAtomic(outPath, int8);
  const record = quantizationRecord({
    options: opts,
    set,
    engine: engine.name,
    plan,
    qdq,
    model,
    foldedBatchNorms: folded,
    source: {
      file: card.files.fp32,
      sha256: await modelSha256(dir, card.files.fp32),
      size: source.size,
    },
    int8Size: int8.length,
    check,
  });
  await updateCard(dir, (raw) => {
    raw.files = {
      ...(raw.files as Record<string, unknown> ?? { fp32: "model.onnx" }),
      int8: opts.output,
    };
    raw.quantization = record;
    if (opts.setDefault) raw.precision = "int8";
    // int8 figures measured on a previous int8 file no longer apply
    const metrics = raw.metrics as Record<string, unknown> | undefined;
    if (metrics) {
      for (const k of Object.keys(metrics)) if (k.endsWith("_int8")) delete metrics[k];
    }
  });
  log(
    `wrote ${outPath} (${int8.length} bytes, ${
      (100 * int8.length / source.size).toFixed(1)
    } % of fp32) and updated ${join(dir, "model.json")}`,
  );
  return { path: outPath, record, plan, qdq };
}
