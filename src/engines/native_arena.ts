/**
 * One onnxruntime CPU arena for every native session of the process, given back on demand.
 *
 * With an arena per session, each copy of a model (the solo copy and its lanes, in each of
 * the four shipped models) keeps the most its own runs ever held; after c=8 load three
 * copies of the ISIC student held three runs' activations (RSS 3 s after: 166 MiB against 123
 * once the lanes were released). Registered in onnxruntime's environment
 * (`CreateAndRegisterAllocator`, growing by what is asked: `arena_extend_strategy` 1) and
 * used by sessions made with `session.use_env_allocators` (`native_options.ts`: the binding's
 * sessions in every isolate of the process share the one environment), the arena holds what
 * runs at once, not the sum of every copy's peak. onnxruntime frees an arena's unused regions
 * only at the end of a run whose run options ask it to (`memory.enable_memory_arena_shrinkage`),
 * which the binding cannot pass: {@link shrinkNativeArena} runs a one-element Relu with that
 * option through the C API (`ort_c_api.ts`; ~0.3 ms).
 *
 * `TINYUNET_NATIVE_ARENA=shared` (the default); where the C API cannot be reached (no FFI
 * permission for the library, or it fails) sessions keep arenas of their own, as with `1`.
 * The arena is the process's, so every isolate that asks gets it (`deno serve --parallel`: the
 * first registers it, the others find it registered); each keeps its own shrink session.
 * When it is shrunk: at the memory keeper's quiet-spell collection when requests' runs
 * overlapped since the one before (`start.ts`; not with `TINYUNET_IDLE_GC_MS=0`): runs one after
 * another reuse one run's regions, while each run at once with another (c=8 load on the lanes)
 * left regions of its own; and once a model's kept copy has been `TINYUNET_LANE_IDLE_MS` without
 * a run (`host_session.ts`; no hosted copies with `TINYUNET_NATIVE_HOST=0`).
 *
 * @module
 */
import {
  cString,
  cStringArray,
  ortCheck,
  ortEnv,
  ortFn,
  ortLibraryAllowed,
  ortMake,
  outPointer,
  SLOT,
} from "./ort_c_api.ts";

/** Whether the shared arena is in place, and why not. */
export interface ArenaShare {
  shared: boolean;
  reason?: string;
}

/** `OrtAllocatorType` arena, `OrtMemType` default, element type float, extend: as asked. */
const ARENA_ALLOCATOR = 1;
const MEM_TYPE_DEFAULT = 0;
const FLOAT = 1;
const EXTEND_SAME_AS_REQUESTED = 1n;

/** What a shrink run needs, kept for the process's life (C holds pointers into these). */
interface Shrinker {
  run: Deno.UnsafeFnPointer<RunDefinition>;
  releaseValue: Deno.UnsafeFnPointer<{ parameters: ["pointer"]; result: "void" }>;
  session: Deno.PointerObject;
  runOptions: Deno.PointerObject;
  inputNames: BigUint64Array<ArrayBuffer>;
  outputNames: BigUint64Array<ArrayBuffer>;
  inputs: BigUint64Array<ArrayBuffer>;
  outputs: BigUint64Array<ArrayBuffer>;
  keep: unknown[];
}
type RunDefinition = {
  parameters: ["pointer", "pointer", "buffer", "buffer", "usize", "buffer", "usize", "buffer"];
  result: "pointer";
};

let share: Promise<ArenaShare> | undefined;
let shrinker: Shrinker | undefined;
/** shrink runs so far */
let shrinks = 0;

/**
 * Registers the shared arena, once per process (later calls get the first's answer); never
 * rejects. Call on the isolate that starts the native sessions, before their first.
 */
export function shareNativeArena(): Promise<ArenaShare> {
  if (!share) {
    share = register().catch((err) => ({
      shared: false,
      reason: (err as Error).message.split("\n")[0],
    }));
    for (const listener of listeners.splice(0)) void share.then(listener);
  }
  return share;
}

const listeners: ((outcome: ArenaShare) => void)[] = [];

/**
 * Calls `listener` with the outcome of {@link shareNativeArena} once it is known, whenever
 * the first native session asks for it (at start, or a model added later); never for a process
 * without native sessions. The start-up logs it so.
 */
export function onNativeArenaOutcome(listener: (outcome: ArenaShare) => void): void {
  if (share) void share.then(listener);
  else listeners.push(listener);
}

/** Whether native sessions made now use the shared arena. */
export function nativeArenaShared(): boolean {
  return shrinker !== undefined;
}

/** Shrink runs so far (for tests and logs). */
export function arenaShrinks(): number {
  return shrinks;
}

/**
 * Gives the shared arena's unused regions back to the allocator (a trim then returns them to
 * the system); what runs meanwhile keeps its memory. False when there is no shared arena or the
 * run failed.
 */
export function shrinkNativeArena(): boolean {
  const s = shrinker;
  if (!s) return false;
  try {
    // a non-null output slot would be taken for a value given to fill
    s.outputs[0] = 0n;
    ortCheck(
      s.run.call(
        s.session,
        s.runOptions,
        new Uint8Array(s.inputNames.buffer),
        new Uint8Array(s.inputs.buffer),
        1n,
        new Uint8Array(s.outputNames.buffer),
        1n,
        new Uint8Array(s.outputs.buffer),
      ),
      "Run",
    );
    s.releaseValue.call(Deno.UnsafePointer.create(s.outputs[0]));
    s.outputs[0] = 0n;
    shrinks++;
    return true;
  } catch {
    return false;
  }
}

async function register(): Promise<ArenaShare> {
  if (!ortLibraryAllowed()) return { shared: false, reason: "no --allow-ffi for onnxruntime" };
  const env = await ortEnv();
  const info = ortMake(
    SLOT.CreateCpuMemoryInfo,
    "CreateCpuMemoryInfo",
    ["i32", "i32"],
    ARENA_ALLOCATOR,
    MEM_TYPE_DEFAULT,
  );
  const key = cString("arena_extend_strategy");
  const keys = cStringArray([key]); // `key` is read by the call below, and outlives it
  const values = new BigUint64Array([EXTEND_SAME_AS_REQUESTED]);
  const cfg = ortMake(
    SLOT.CreateArenaCfgV2,
    "CreateArenaCfgV2",
    ["buffer", "buffer", "usize"],
    new Uint8Array(keys.buffer),
    new Uint8Array(values.buffer),
    1n,
  );
  try {
    ortCheck(
      ortFn(SLOT.CreateAndRegisterAllocator, {
        parameters: ["pointer", "pointer", "pointer"],
        result: "pointer",
      }).call(env, info, cfg),
      "CreateAndRegisterAllocator",
    );
  } catch (err) {
    // another isolate of this process (`deno serve --parallel`, parallel test files) registered
    // it first: the environment is the process's, so its sessions share that one
    if (!/already/i.test((err as Error).message)) throw err;
  } finally {
    ortFn(SLOT.ReleaseArenaCfg, { parameters: ["pointer"], result: "void" }).call(cfg);
  }
  shrinker = makeShrinker(env, info);
  return { shared: true };
}

/** A one-element Relu session on the shared arena, and run options that shrink it. */
function makeShrinker(env: Deno.PointerObject, info: Deno.PointerObject): Shrinker {
  const model = reluModel();
  const so = ortMake(SLOT.CreateSessionOptions, "CreateSessionOptions", []);
  let session: Deno.PointerObject;
  try {
    ortCheck(
      ortFn(SLOT.AddSessionConfigEntry, {
        parameters: ["pointer", "buffer", "buffer"],
        result: "pointer",
      }).call(so, cString("session.use_env_allocators"), cString("1")),
      "AddSessionConfigEntry",
    );
    ortCheck(
      ortFn(SLOT.SetIntraOpNumThreads, { parameters: ["pointer", "i32"], result: "pointer" })
        .call(so, 1),
      "SetIntraOpNumThreads",
    );
    session = ortMake(
      SLOT.CreateSessionFromArray,
      "CreateSessionFromArray",
      ["pointer", "buffer", "usize", "pointer"],
      env,
      model,
      BigInt(model.byteLength),
      so,
    );
  } finally {
    ortFn(SLOT.ReleaseSessionOptions, { parameters: ["pointer"], result: "void" }).call(so);
  }
  const runOptions = ortMake(SLOT.CreateRunOptions, "CreateRunOptions", []);
  ortCheck(
    ortFn(SLOT.AddRunConfigEntry, {
      parameters: ["pointer", "buffer", "buffer"],
      result: "pointer",
    }).call(runOptions, cString("memory.enable_memory_arena_shrinkage"), cString("cpu:0")),
    "AddRunConfigEntry",
  );
  const data = new Float32Array(1);
  const shape = new BigInt64Array([1n]);
  const input = ortMake(
    SLOT.CreateTensorWithDataAsOrtValue,
    "CreateTensorWithDataAsOrtValue",
    ["pointer", "buffer", "usize", "buffer", "usize", "i32"],
    info,
    new Uint8Array(data.buffer),
    4n,
    new Uint8Array(shape.buffer),
    1n,
    FLOAT,
  );
  const x = cString("x");
  const y = cString("y");
  return {
    run: ortFn(SLOT.Run, {
      parameters: ["pointer", "pointer", "buffer", "buffer", "usize", "buffer", "usize", "buffer"],
      result: "pointer",
    }),
    releaseValue: ortFn(SLOT.ReleaseValue, { parameters: ["pointer"], result: "void" }),
    session,
    runOptions,
    inputNames: cStringArray([x]),
    outputNames: cStringArray([y]),
    inputs: new BigUint64Array([BigInt(Deno.UnsafePointer.value(input))]),
    outputs: outPointer(),
    // the tensor's data and shape, and the names, are read by C on each run
    keep: [data, shape, x, y, model],
  };
}

/**
 * `y = Relu(x)` on a one-element float tensor, as encoded ONNX (IR 8, opset 17; 72 bytes): the
 * protobuf schema is not loaded at start-up for it (tests/unit/engines/native_arena_test.ts
 * checks these bytes against `encodeModel` of that graph).
 */
export const RELU_MODEL_BASE64 =
  "CAg6PgoMCgF4EgF5IgRSZWx1EgxhcmVuYV9zaHJpbmtaDwoBeBIKCggIARIECgIIAWIPCgF5EgoKCAgBEgQKAggBQgQKABAR";

function reluModel(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(RELU_MODEL_BASE64), (c) => c.charCodeAt(0));
}
