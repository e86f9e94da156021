/**
 * Command-line arguments of `deno task quantize`.
 *
 * @module
 */
import { parseStrict, positiveInt, UsageError } from "../cli_args.ts";
import type { EngineName } from "../../src/engines/engine.ts";
import { DEFAULT_QUANTIZE_OPTIONS, type QuantizeOptions } from "./options.ts";
import { CALIBRATION_METHODS, type CalibrationMethod } from "./ranges.ts";

/** Usage text. */
export const USAGE = `Quantise a model version to int8 (QDQ), calibrated on your own images.

  deno task quantize -- --model models/<name>/<version> --calib <folder of images> [options]

Options:
  --method minmax|percentile|entropy   how activation ranges are chosen (default minmax)
  --percentile P        percentile method: share of values kept (default 99.999)
  --per-channel         one weight scale per output channel (default)
  --per-tensor          one weight scale per weight tensor
  --int8-activations    int8 activations instead of uint8
  --reduce-range        7-bit weights, for x86 CPUs without VNNI if int8 accuracy drops
  --min-channels N      keep Conv/ConvTranspose with fewer output channels fp32 (default 0: none)
  --max-images N        calibrate on at most N images, spread over the folder (default 200)
  --engine native|wasm  engine that runs calibration (default native)
  --threads N           intra-op threads for calibration
  --output FILE         int8 file name in the version folder (default model.int8.onnx)
  --set-default         make int8 the card's default precision
  -h, --help            this text

Writes <model>/model.int8.onnx and records files.int8 and a quantization block in
<model>/model.json. The fp32 model is never changed.`;

export { UsageError };

/**
 * Parses the arguments.
 * @returns the options, or null when help was asked for
 * @throws {UsageError} for unknown or invalid arguments
 */
export function parseQuantizeArgs(argv: string[]): QuantizeOptions | null {
  const parsed = parseStrict(argv, {
    model: { type: "string" },
    calib: { type: "string" },
    method: { type: "string" },
    percentile: { type: "string" },
    "per-channel": { type: "boolean" },
    "per-tensor": { type: "boolean" },
    "int8-activations": { type: "boolean" },
    "reduce-range": { type: "boolean" },
    "max-images": { type: "string" },
    "min-channels": { type: "string" },
    engine: { type: "string" },
    threads: { type: "string" },
    output: { type: "string" },
    "set-default": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const v = parsed.values;
  if (v.help) return null;
  if (!v.model) throw new UsageError("--model <models/name/version> is required");
  if (!v.calib) throw new UsageError("--calib <folder of images> is required");
  const method = (v.method ?? DEFAULT_QUANTIZE_OPTIONS.method) as CalibrationMethod;
  if (!CALIBRATION_METHODS.includes(method)) {
    throw new UsageError(`--method must be one of ${CALIBRATION_METHODS.join(", ")}`);
  }
  if (v["per-channel"] && v["per-tensor"]) {
    throw new UsageError("--per-channel and --per-tensor exclude each other");
  }
  const percentile = v.percentile === undefined
    ? DEFAULT_QUANTIZE_OPTIONS.percentile
    : Number(v.percentile);
  if (!(percentile > 50 && percentile <= 100)) {
    throw new UsageError("--percentile must be above 50 and at most 100");
  }
  const engine = (v.engine ?? "native") as EngineName;
  if (!["native", "wasm"].includes(engine)) throw new UsageError("--engine must be native or wasm");
  const output = v.output ?? DEFAULT_QUANTIZE_OPTIONS.output;
  if (output.includes("/") || !output.endsWith(".onnx")) {
    throw new UsageError(
      "--output must be a file name ending in .onnx (written in the version folder)",
    );
  }
  return {
    ...DEFAULT_QUANTIZE_OPTIONS,
    modelDir: v.model,
    calibFolder: v.calib,
    method,
    percentile,
    perChannel: !v["per-tensor"],
    activationType: v["int8-activations"] ? "int8" : "uint8",
    reduceRange: !!v["reduce-range"],
    maxImages: positiveInt(v["max-images"], "max-images") ?? DEFAULT_QUANTIZE_OPTIONS.maxImages,
    minChannels: positiveInt(v["min-channels"], "min-channels") ??
      DEFAULT_QUANTIZE_OPTIONS.minChannels,
    engine,
    threads: positiveInt(v.threads, "threads"),
    output,
    setDefault: !!v["set-default"],
  };
}
