/**
 * Builds the native probe's ONNX model from the weights in
 * src/engines/native_probe/reference.ts with the graph builder, so a test can check that
 * the model embedded in src/engines/native_probe/model.ts is exactly that network.
 * `deno run tests/helpers/native_probe_model.ts` prints the base64 to embed.
 *
 * @module
 */
import { GraphBuilder } from "../../lib/onnx_builder.ts";
import {
  PROBE_INPUT_DIMS,
  PROBE_INPUT_NAME,
  PROBE_OUTPUT_DIMS,
  PROBE_OUTPUT_NAME,
  probeWeights,
} from "../../src/engines/native_probe/reference.ts";

/** The probe network as ONNX bytes (opset 13). */
export function buildProbeModel(): Uint8Array {
  const { w1, b1, w2, b2 } = probeWeights();
  const g = new GraphBuilder(1);
  const x = g.input(PROBE_INPUT_NAME, [...PROBE_INPUT_DIMS]);
  const conv = (input: string, w: string, b: string, k: number) =>
    g.node("Conv", [input, w, b], [
      { name: "kernel_shape", type: 7, ints: [k, k] },
      { name: "pads", type: 7, ints: Array(4).fill((k - 1) / 2) },
    ]);
  const h = g.node("Relu", [
    conv(x, g.constant(w1, [4, 2, 3, 3]), g.constant(b1, [4], "b"), 3),
  ]);
  const z = conv(h, g.constant(w2, [1, 4, 1, 1]), g.constant(b2, [1], "b"), 1);
  g.output(g.node("Sigmoid", [z]), PROBE_OUTPUT_NAME, [...PROBE_OUTPUT_DIMS]);
  return g.build(13);
}

/** Base64 of {@link buildProbeModel}. */
export function probeModelBase64(): string {
  let s = "";
  for (const b of buildProbeModel()) s += String.fromCharCode(b);
  return btoa(s);
}

if (import.meta.main) console.log(probeModelBase64());
