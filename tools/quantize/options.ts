/**
 * Options of a quantisation run and their defaults.
 *
 * @module
 */
import type { EngineName } from "../../src/engines/engine.ts";
import type { ActivationType } from "./qparams.ts";
import type { CalibrationMethod } from "./ranges.ts";

/** Options of `quantizeModelVersion`. */
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
