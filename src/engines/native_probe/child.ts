/**
 * The native probe's child process: loads onnxruntime-node (the add-on that may crash),
 * runs the probe model once on one thread and prints one JSON line
 * `{"output":[…],"version":"…"}` on stdout. Whatever happens to this process — a
 * segmentation fault in the add-on, a hang, an exception — happens here and not in the
 * server (`probe.ts` spawns it and judges the answer).
 *
 * `TINYUNET_NATIVE_PROBE_MODULE` (a file path) replaces onnxruntime-node with a module of
 * the same shape (`InferenceSession.create`, `Tensor`, `env`): the tests' crashing,
 * hanging and wrong-answering add-ons (tests/fixtures/native_addons/).
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { probeModelBytes } from "./model.ts";
import { PROBE_INPUT_DIMS, PROBE_INPUT_NAME, PROBE_OUTPUT_NAME, probeInput } from "./reference.ts";

/** The part of onnxruntime-node's API the probe uses. */
export interface OrtLike {
  InferenceSession: {
    create(bytes: Uint8Array, options: Record<string, unknown>): Promise<{
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
      release(): Promise<void>;
    }>;
  };
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => unknown;
  env: { versions?: { node?: string } };
}

async function loadOrt(): Promise<OrtLike> {
  const injected = Deno.env.get("TINYUNET_NATIVE_PROBE_MODULE");
  if (injected) return await import(pathToFileURL(injected).href);
  return await import("onnxruntime-node");
}

const ort = await loadOrt();
const session = await ort.InferenceSession.create(probeModelBytes(), {
  executionProviders: ["cpu"],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
});
const result = await session.run({
  [PROBE_INPUT_NAME]: new ort.Tensor("float32", probeInput(), PROBE_INPUT_DIMS),
});
const data = result[PROBE_OUTPUT_NAME]?.data;
const output = data instanceof Float32Array ? Array.from(data) : null;
await session.release();
console.log(JSON.stringify({ output, version: ort.env.versions?.node ?? "unknown" }));
