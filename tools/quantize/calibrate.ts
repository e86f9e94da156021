/**
 * Calibration: runs the calibration copy of the model on the calibration images through
 * an engine (onnxruntime-node by default) and turns the observed activations into the
 * [min, max] range of each tensor with the chosen method.
 *
 * @module
 */
import type { Engine, Tensor } from "../../src/engines/engine.ts";
import type { onnx } from "../../src/onnx/proto.ts";
import { exposeTensors, nodeOutputs } from "./calibration_model.ts";
import { type CalibrationMethod, calibrationRange, histogramKind } from "./ranges.ts";
import { TensorStats } from "./statistics.ts";

/** Options of {@link calibrate}. */
export interface CalibrateOptions {
  engine: Engine;
  method: CalibrationMethod;
  /** for the percentile method */
  percentile?: number;
  threads?: number;
  /** called after each image of each pass */
  progress?: (pass: number, done: number, file: string) => void;
}

/**
 * Observes `tensors` on every input and returns their calibrated ranges.
 * @param model the float model (BatchNormalization folded as it will be quantised)
 * @param tensors the tensors to calibrate
 * @param inputs yields the model's input feed, freshly each time it is called (one call per pass)
 * @throws {Error} when a tensor is never produced or holds non-finite values
 */
export async function calibrate(
  model: onnx.IModelProto,
  tensors: readonly string[],
  inputs: () => AsyncIterable<{ file: string; feeds: Record<string, Tensor> }>,
  options: CalibrateOptions,
): Promise<Map<string, [number, number]>> {
  const bytes = exposeTensors(model, tensors);
  const session = await options.engine.createSession(
    { path: "calibration.onnx", bytes, externalData: [] },
    { threads: options.threads },
  );
  const stats = new Map(tensors.map((t) => [t, new TensorStats()]));
  const kind = histogramKind(options.method);
  try {
    const passes = kind ? 2 : 1;
    for (let pass = 1; pass <= passes; pass++) {
      if (pass === 2) { for (const s of stats.values()) s.startHistograms(kind!); }
      let done = 0;
      for await (const { file, feeds } of inputs()) {
        const outputs = await session.run(feeds);
        for (const [name, s] of stats) {
          const t = outputs[name] ?? feeds[name];
          if (!t) throw new Error(`calibration run did not return tensor ${name}`);
          if (!(t.data instanceof Float32Array)) throw new Error(`tensor ${name} is not float32`);
          try {
            if (pass === 1) s.observeRange(t.data);
            else s.observeHistogram(t.data);
          } catch (err) {
            throw new Error(`tensor ${name} on ${file}: ${(err as Error).message}`);
          }
        }
        done++;
        options.progress?.(pass, done, file); // (not `++done` inside: skipped when progress is unset)
      }
      if (done === 0) throw new Error("no calibration inputs");
    }
  } finally {
    await session.release();
  }
  const ranges = new Map<string, [number, number]>();
  for (const [name, s] of stats) {
    const [lo, hi] = calibrationRange(s, options.method, options.percentile);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new Error(`tensor ${name} has a non-finite range [${lo}, ${hi}]`);
    }
    ranges.set(name, [lo, hi]);
  }
  return ranges;
}

/**
 * Finds which tensors are float32 by running the model once with every node output
 * exposed (the quantiser cannot infer the output type of every op by itself).
 * @returns names of the float32 node outputs and graph inputs
 */
export async function probeFloatTensors(
  model: onnx.IModelProto,
  feeds: Record<string, Tensor>,
  engine: Engine,
  threads?: number,
): Promise<Set<string>> {
  const bytes = exposeTensors(model, nodeOutputs(model));
  const session = await engine.createSession({ path: "probe.onnx", bytes, externalData: [] }, {
    threads,
  });
  try {
    const outputs = await session.run(feeds);
    const floats = new Set<string>();
    for (const [name, t] of [...Object.entries(feeds), ...Object.entries(outputs)]) {
      if (t.data instanceof Float32Array) floats.add(name);
    }
    return floats;
  } finally {
    await session.release();
  }
}
