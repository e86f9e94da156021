/**
 * Worker side of the onnxruntime-web engines (`wasm`, `webgpu`). Each session lives in its
 * own Worker: runs never block the server's event loop, and a hung run (onnxruntime-web
 * with threads sometimes never finishes its first run under Deno) is cured by terminating
 * the worker and starting a fresh one.
 *
 * Protocol: `init` → `ready` | `error`; `run` → `result` | `error` (matched by id).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { Tensor } from "./engine.ts";

/** Message the session client sends to start a session in this worker. */
export interface InitMessage {
  type: "init";
  backend: "wasm" | "webgpu";
  threads: number;
  model: Uint8Array;
  externalData: { path: string; data: Uint8Array }[];
}
/** Message asking for one run. */
export interface RunMessage {
  type: "run";
  id: number;
  feeds: Record<string, Tensor>;
}
/** Replies sent back to the client. */
export type WorkerReply =
  | { type: "ready"; inputNames: string[]; outputNames: string[] }
  | { type: "result"; id: number; outputs: Record<string, Tensor> }
  | { type: "error"; id?: number; message: string };

type OrtWeb = typeof import("onnxruntime-web");
let ort: OrtWeb | undefined;
let session: import("onnxruntime-web").InferenceSession | undefined;

function reply(message: WorkerReply, transfer: Transferable[] = []) {
  self.postMessage(message, transfer);
}

async function init(msg: InitMessage) {
  // A Worker started from a file: URL has location.origin "null", which the WebGPU bundle
  // uses as a URL base (and throws). Without `location` it resolves from import.meta.url.
  Object.defineProperty(globalThis, "location", { value: undefined, configurable: true });
  ort = msg.backend === "webgpu"
    ? (await import("onnxruntime-web/webgpu")) as unknown as OrtWeb
    : await import("onnxruntime-web");
  ort.env.wasm.numThreads = msg.threads;
  ort.env.logLevel = "error";
  session = await ort.InferenceSession.create(msg.model, {
    executionProviders: [msg.backend],
    graphOptimizationLevel: "all",
    externalData: msg.externalData.map((e) => ({ path: e.path, data: e.data })),
  });
  reply({
    type: "ready",
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
  });
}

async function run(msg: RunMessage) {
  if (!ort || !session) throw new Error("session not initialised");
  const feeds: Record<string, import("onnxruntime-web").Tensor> = {};
  for (const [name, t] of Object.entries(msg.feeds)) {
    feeds[name] = new ort.Tensor("float32", t.data, t.dims);
  }
  const out = await session.run(feeds);
  const outputs: Record<string, Tensor> = {};
  const transfer: Transferable[] = [];
  for (const [name, t] of Object.entries(out)) {
    const data = (await t.getData()) as Float32Array;
    outputs[name] = { data, dims: [...t.dims] };
    transfer.push(data.buffer as ArrayBuffer);
    t.dispose();
  }
  reply({ type: "result", id: msg.id, outputs }, transfer);
}

self.onmessage = async (event: MessageEvent<InitMessage | RunMessage>) => {
  const msg = event.data;
  try {
    if (msg.type === "init") await init(msg);
    else await run(msg);
  } catch (err) {
    reply({
      type: "error",
      id: msg.type === "run" ? msg.id : undefined,
      message: String((err as Error)?.message ?? err),
    });
  }
};
