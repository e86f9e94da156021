/**
 * One onnxruntime-node session behind the small interface the engine hosts run: created
 * with the process's native session options, fed and answered in the engine's own tensor
 * type. Used in the engine host Workers (`host_worker.ts`) and, for the solo copy, on the
 * calling isolate (`local_host.ts`).
 *
 * @module
 */
import type { Tensor } from "./engine.ts";
import { type ArenaChoice, nativeSessionOptions, type SpinMode } from "./native_options.ts";

/** A loaded session, as the hosts run it. */
export interface Runner {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, Tensor>): Promise<{ outputs: Record<string, Tensor> }>;
  release(): Promise<void>;
}

/** What loading a native session needs. */
export interface NativeLoad {
  /** intra-op threads */
  threads: number;
  /** file path of the model (onnxruntime resolves external data beside it) */
  path: string;
  model: Uint8Array;
  externalData: { path: string; data: Uint8Array }[];
  /** what pool threads do between kernels (default `always`) */
  spin?: SpinMode;
  /** onnxruntime's CPU arena (`TINYUNET_NATIVE_ARENA`, as the asking isolate resolved it) */
  arena: ArenaChoice;
}

/** Creates an onnxruntime-node session. */
export async function loadNativeRunner(load: NativeLoad): Promise<Runner> {
  const ort = await import("onnxruntime-node");
  const options = nativeSessionOptions(load.threads, load.arena, load.spin ?? "always");
  // a path lets onnxruntime resolve external data beside the model itself
  const session = load.externalData.length > 0
    ? await ort.InferenceSession.create(load.path, options)
    : await ort.InferenceSession.create(load.model, options);
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const input: Record<string, import("onnxruntime-node").Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        input[name] = new ort.Tensor("float32", t.data, t.dims);
      }
      const out = await session.run(input);
      const outputs: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(out)) {
        outputs[name] = { data: t.data as Float32Array, dims: [...t.dims] };
      }
      return { outputs };
    },
    release: () => session.release(),
  };
}
