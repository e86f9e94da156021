/**
 * One native session behind the small interface the engine hosts run: on the direct kernels
 * where they cover the model (`direct/`), else onnxruntime-node's, created with the process's
 * native session options; fed and answered in the engine's own tensor type. Used in the engine host Workers (`host_worker.ts`) and, for the solo copy, on the
 * calling isolate (`local_host.ts`).
 *
 * @module
 */
import type { Runner } from "./runner.ts";
import type { Tensor } from "./engine.ts";
import { type ArenaChoice, nativeSessionOptions, type SpinMode } from "./native_options.ts";
import { directKernels } from "./direct/kernels.ts";
import { loadDirectRunner } from "./direct/runner.ts";

/** What runs a native model: the direct engine's kernels where they can, or onnxruntime. */
export type KernelChoice = "direct" | "onnxruntime";

export type { Runner } from "./runner.ts";

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
  /** `TINYUNET_NATIVE_KERNELS`, as the asking isolate read it */
  kernels: KernelChoice;
}

/**
 * Creates a native session: on the direct engine's kernels when asked for and the model's
 * graph is theirs (onnxruntime-node is then not loaded for it), else onnxruntime-node's.
 * @param offThread direct runs on a thread of Deno's blocking pool (for a session on the
 *   HTTP isolate: its event loop goes on meanwhile); else on the calling thread
 */
export async function loadNativeRunner(load: NativeLoad, offThread = false): Promise<Runner> {
  let kernels = "onnxruntime";
  if (load.kernels === "direct") {
    const library = await directKernels();
    if (library.ok) {
      try {
        return loadDirectRunner(load.model, load.externalData, library.symbols, offThread);
      } catch (err) {
        // a graph they do not cover, or one they cannot read: onnxruntime has its say
        kernels = `onnxruntime (not the direct kernels: ${(err as Error).message})`;
      }
    } else {
      kernels = `onnxruntime (no direct kernels: ${library.reason})`;
    }
  }
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
    kernels,
  };
}
