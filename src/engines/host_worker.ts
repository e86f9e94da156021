/**
 * Worker side of the engine host: one Worker per engine runtime holds the sessions of every
 * model of the process (`native`: onnxruntime-node; `wasm`/`webgpu`: one onnxruntime-web
 * runtime, one wasm heap, shared by all models; `direct-wasm`: the direct engine's
 * WebAssembly kernels, `direct/wasm_kernels.ts`, an instance per workspace). Runs happen off
 * the server's event loop, so HTTP and codecs on the main thread overlap inference on this one.
 *
 * Messages are handled strictly one after another (a load, then runs, in arrival order):
 * this thread is the engine's single run lane. A hung run blocks the lane; the client then
 * terminates the worker and starts a fresh one (see `engine_host.ts`).
 *
 * Protocol: `load` → `loaded` | `error` (by sid); `run` → `result` | `error` (by id);
 * `release` → nothing. A run's inputs arrive packed in one transferred buffer that goes
 * back with its answer (`host_io.ts`), so runs leave no garbage in this isolate.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { Tensor } from "./engine.ts";
import { type PackedFeeds, unpackFeeds } from "./host_io.ts";
import type { ArenaChoice, SpinMode } from "./native_options.ts";
import { loadNativeRunner, type Runner } from "./native_runner.ts";
import { directRunner } from "./direct/runner.ts";
import { wasmKernels } from "./direct/wasm_kernels.ts";
import { type Collected, collectGarbage, IdleCollector } from "../memory/collect.ts";

/** The runtimes a host can hold. */
export type HostBackend = "native" | "wasm" | "webgpu" | "direct-wasm";

/** Loads one model into the host as session `sid`. */
export interface LoadMessage {
  type: "load";
  sid: number;
  backend: HostBackend;
  /** intra-op threads (wasm: the runtime's threads, the same for every session of a host) */
  threads: number;
  /** file path of the model (native resolves external data beside it) */
  path: string;
  model: Uint8Array;
  externalData: { path: string; data: Uint8Array }[];
  /** native: what pool threads do between kernels (default `always`) */
  spin?: SpinMode;
  /**
   * the session's CPU arena (native: `TINYUNET_NATIVE_ARENA`, `shared` once the process's arena
   * is registered; wasm and webgpu: `TINYUNET_WASM_ARENA`) and the host's idle-collection
   * delay (`TINYUNET_IDLE_GC_MS`), as the sending isolate validated them: a host loads neither
   * zod nor the settings schemas (~5 MiB and 20-45 ms of start-up a Worker, probe 2026-12-02)
   */
  arena: ArenaChoice;
  idleGcMs: number;
}
/** One run of session `sid`; its inputs packed in a buffer that goes back with the answer. */
export interface RunMessage {
  type: "run";
  id: number;
  sid: number;
  packed: PackedFeeds;
}
/** Drops session `sid`. */
export interface ReleaseMessage {
  type: "release";
  sid: number;
}
/** Loads the runtime ahead of the first session (start-up overlaps the server's own). */
export interface InitMessage {
  type: "init";
  backend: HostBackend;
}
/** Collects this isolate's garbage now (once the server is ready: what loading left). */
export interface CollectMessage {
  type: "collect";
}
/** What the client sends. */
export type HostMessage =
  | LoadMessage
  | RunMessage
  | ReleaseMessage
  | InitMessage
  | CollectMessage;
/** What the host answers. */
export type HostReply =
  | { type: "loaded"; sid: number; inputNames: string[]; outputNames: string[] }
  | { type: "result"; id: number; outputs: Record<string, Tensor>; buffer: ArrayBuffer }
  | { type: "error"; id?: number; sid?: number; message: string; buffer?: ArrayBuffer }
  | ({ type: "collected" } & Collected);

const sessions = new Map<number, Runner>();
/**
 * what runs leave behind (the outputs' JS side, onnxruntime-web's wrappers) goes once idle
 * (made by the first load, which brings the delay)
 */
let idle: IdleCollector | undefined;
type OrtWeb = typeof import("onnxruntime-web");
let ortWeb: Promise<OrtWeb> | undefined;

function reply(message: HostReply, transfer: Transferable[] = []) {
  self.postMessage(message, transfer);
}

async function loadWeb(msg: LoadMessage): Promise<Runner> {
  if (!ortWeb) {
    // A Worker started from a file: URL has location.origin "null", which the WebGPU bundle
    // uses as a URL base (and throws). Without `location` it resolves from import.meta.url.
    Object.defineProperty(globalThis, "location", { value: undefined, configurable: true });
    ortWeb = msg.backend === "webgpu"
      ? import("onnxruntime-web/webgpu") as unknown as Promise<OrtWeb>
      : import("onnxruntime-web");
    const ort = await ortWeb;
    // one runtime per host: its thread count is set once, by the first load
    ort.env.wasm.numThreads = msg.threads;
    ort.env.logLevel = "error";
  }
  const ort = await ortWeb;
  const session = await ort.InferenceSession.create(msg.model, {
    executionProviders: [msg.backend],
    graphOptimizationLevel: "all",
    // every session of the host shares one wasm heap, which never shrinks: without per-session
    // arenas, memory one model's run freed serves the next model's run
    enableCpuMemArena: msg.arena !== "off",
    externalData: msg.externalData.map((e) => ({ path: e.path, data: e.data })),
  });
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const input: Record<string, import("onnxruntime-web").Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        input[name] = new ort.Tensor("float32", t.data, t.dims);
      }
      const out = await session.run(input);
      const outputs: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(out)) {
        outputs[name] = { data: (await t.getData()) as Float32Array, dims: [...t.dims] };
        t.dispose();
      }
      return { outputs };
    },
    release: () => session.release(),
  };
}

/** The model on the WebAssembly kernels; the error says why not (the wasm engine falls back). */
async function loadDirectWasm(msg: LoadMessage): Promise<Runner> {
  const runner = await directRunner(msg.model, msg.externalData, wasmKernels);
  if ("reason" in runner) throw new Error(runner.reason);
  return runner;
}

async function handle(msg: HostMessage) {
  if (msg.type === "init") {
    // native only: onnxruntime-web's thread count is fixed by the first load
    if (msg.backend === "native") await import("onnxruntime-node");
  } else if (msg.type === "load") {
    idle ??= new IdleCollector(msg.idleGcMs);
    const runner = msg.backend === "native"
      ? await loadNativeRunner(msg)
      : msg.backend === "direct-wasm"
      ? await loadDirectWasm(msg)
      : await loadWeb(msg);
    sessions.set(msg.sid, runner);
    reply({
      type: "loaded",
      sid: msg.sid,
      inputNames: [...runner.inputNames],
      outputNames: [...runner.outputNames],
    });
  } else if (msg.type === "run") {
    const runner = sessions.get(msg.sid);
    if (!runner) throw new Error(`no session ${msg.sid} in this engine host`);
    const { outputs } = await runner.run(unpackFeeds(msg.packed));
    const buffer = msg.packed.buffer;
    const transfer = Object.values(outputs).map((t) => t.data.buffer as ArrayBuffer);
    reply({ type: "result", id: msg.id, outputs, buffer }, [...transfer, buffer]);
    idle?.touch();
  } else if (msg.type === "collect") {
    reply({ type: "collected", ...collectGarbage() });
  } else {
    const runner = sessions.get(msg.sid);
    sessions.delete(msg.sid);
    await runner?.release();
  }
}

let lane: Promise<void> = Promise.resolve();
self.onmessage = (event: MessageEvent<HostMessage>) => {
  const msg = event.data;
  lane = lane.then(() => handle(msg)).catch((err) => {
    const buffer = msg.type === "run" && msg.packed.buffer.byteLength > 0
      ? msg.packed.buffer
      : undefined;
    reply({
      type: "error",
      id: msg.type === "run" ? msg.id : undefined,
      sid: msg.type === "load" ? msg.sid : undefined,
      message: String((err as Error)?.message ?? err),
      buffer,
    }, buffer ? [buffer] : []);
  });
};
