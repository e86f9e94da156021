/**
 * What the engine hosts run: one loaded session of a model, whatever runs it (the direct
 * kernels, onnxruntime-node, onnxruntime-web), fed and answered in the engine's own tensors.
 *
 * @module
 */
import type { Tensor } from "./engine.ts";

/** A loaded session, as the hosts run it. */
export interface Runner {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, Tensor>): Promise<{ outputs: Record<string, Tensor> }>;
  release(): Promise<void>;
  /** what runs the model, and why not the direct kernels when they were asked for */
  kernels: string;
}
