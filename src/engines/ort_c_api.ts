/**
 * onnxruntime's C API from Deno (FFI), for the few things onnxruntime-node's binding does not
 * offer: its environment made on a background thread at start (`native_probe/prewarm.ts`) and
 * one CPU arena shared by every native session, given back when the server is idle
 * (`native_arena.ts`). The library is the one the binding loads (found by its soname, so
 * opened once per process); `OrtGetApiBase()->GetApi(1)` gives the function table, whose slots
 * are fixed (onnxruntime_c_api.h: the table only grows). Why by hand: no library reaches
 * onnxruntime's C API from Deno.
 *
 * Only for a process whose native probe passed (the library is loaded in-process only after a
 * probe child survived it) and with FFI permission for the library.
 *
 * @module
 */
import { addonFiles } from "./native_probe/addon.ts";

/** `OrtApi` slots used here (0-based; onnxruntime_c_api.h, struct OrtApi). */
export const SLOT = {
  GetErrorMessage: 2,
  CreateEnv: 3,
  CreateSessionFromArray: 8,
  Run: 9,
  CreateSessionOptions: 10,
  SetIntraOpNumThreads: 24,
  CreateRunOptions: 39,
  CreateTensorWithDataAsOrtValue: 49,
  CreateCpuMemoryInfo: 69,
  ReleaseStatus: 93,
  ReleaseValue: 96,
  ReleaseSessionOptions: 100,
  AddSessionConfigEntry: 130,
  CreateAndRegisterAllocator: 144,
  ReleaseArenaCfg: 157,
  CreateArenaCfgV2: 164,
  AddRunConfigEntry: 165,
} as const;

/** Module-level so that the library stays open for the process's life. */
let opened: { library: Deno.DynamicLibrary<Symbols>; api: Deno.PointerObject } | undefined;
type Symbols = { OrtGetApiBase: { parameters: []; result: "pointer" } };

/** Whether this process may open onnxruntime's library (FFI permission for it). */
export function ortLibraryAllowed(): boolean {
  return Deno.permissions.querySync({ name: "ffi", path: addonFiles().library }).state ===
    "granted";
}

/**
 * The `OrtApi` table (version 1's layout), opening the library on first use.
 * @throws {Error} where the library or the table cannot be had
 */
export function ortApi(): Deno.PointerObject {
  if (opened) return opened.api;
  const library = Deno.dlopen(addonFiles().library, {
    OrtGetApiBase: { parameters: [], result: "pointer" },
  });
  const base = library.symbols.OrtGetApiBase();
  if (base === null) throw new Error("OrtGetApiBase returned null");
  const getApi = new Deno.UnsafeFnPointer(slot(base, 0), {
    parameters: ["u32"],
    result: "pointer",
  });
  const api = getApi.call(1);
  if (api === null) throw new Error("GetApi(1) returned null");
  opened = { library, api };
  return api;
}

/** The C function in `OrtApi` slot `index` with the given signature. */
export function ortFn<const D extends Deno.ForeignFunction>(
  index: number,
  definition: D,
): Deno.UnsafeFnPointer<D> {
  return new Deno.UnsafeFnPointer(slot(ortApi(), index), definition);
}

/**
 * Throws the message of an `OrtStatus*` that is not null (an error), releasing it.
 * @throws {Error} `what: onnxruntime's message`
 */
export function ortCheck(status: Deno.PointerValue, what: string): void {
  if (status === null) return;
  const message = ortFn(SLOT.GetErrorMessage, { parameters: ["pointer"], result: "pointer" })
    .call(status);
  const why = message ? Deno.UnsafePointerView.getCString(message) : "no message";
  ortFn(SLOT.ReleaseStatus, { parameters: ["pointer"], result: "void" }).call(status);
  throw new Error(`${what} failed: ${why}`);
}

/**
 * `OrtLoggingLevel` warning and the log id: the binding's defaults (`env.logLevel =
 * "warning"`). The environment is one per process and keeps the level it was made with.
 */
const LOG_WARNING = 2;
const LOG_ID = new TextEncoder().encode("onnxruntime-node\0");
let env: Promise<Deno.PointerObject> | undefined;

/**
 * onnxruntime's environment (`CreateEnv`: the one per process, `OrtEnv::GetInstance`, made on
 * first call and reference counted; never released here, as the binding's own is not),
 * asked for once, as a `nonblocking` call on one of Deno's blocking-call threads: making it
 * registers every ONNX operator schema (~50 ms).
 */
export function ortEnv(): Promise<Deno.PointerObject> {
  env ??= (async () => {
    const createEnv = ortFn(SLOT.CreateEnv, {
      parameters: ["i32", "buffer", "buffer"],
      result: "pointer",
      nonblocking: true,
    });
    const out = new BigUint64Array(1);
    // `LOG_ID` is module-level and `out` read after the call: both outlive the native call
    ortCheck(await createEnv.call(LOG_WARNING, LOG_ID, new Uint8Array(out.buffer)), "CreateEnv");
    return pointerAt(out, "CreateEnv gave no environment");
  })();
  return env;
}

/**
 * Calls the function in `OrtApi` slot `index` whose last parameter is an out-pointer (`T**`)
 * with `args` before it, throws its status's message, and returns what it made.
 * @throws {Error} `what failed: …`, or when it made nothing
 */
export function ortMake<const P extends readonly Deno.NativeType[]>(
  index: number,
  what: string,
  parameters: P,
  ...args: Deno.ToNativeParameterTypes<P>
): Deno.PointerObject {
  const out = outPointer();
  const withOut: Deno.NativeType[] = [...parameters, "buffer"];
  const fn = ortFn(index, { parameters: withOut, result: "pointer" });
  ortCheck(fn.call(...args, new Uint8Array(out.buffer)), what);
  return pointerAt(out, `${what} made nothing`);
}

/** A NUL-terminated C string. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${text}\0`);
}

/** An out-parameter slot for one pointer (`T**` in C). */
export function outPointer(): BigUint64Array<ArrayBuffer> {
  return new BigUint64Array(1);
}

/**
 * The pointer an out-parameter received.
 * @throws {Error} `why` when it is null
 */
function pointerAt(out: BigUint64Array, why: string): Deno.PointerObject {
  const pointer = Deno.UnsafePointer.create(out[0]);
  if (pointer === null) throw new Error(why);
  return pointer;
}

/** A C array of pointers to `strings` (`const char* const*`); keep both alive while used. */
export function cStringArray(strings: Uint8Array<ArrayBuffer>[]): BigUint64Array<ArrayBuffer> {
  return new BigUint64Array(
    strings.map((s) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s)))),
  );
}

/** The function pointer in slot `index` of a C table of pointers (64-bit). */
function slot(table: Deno.PointerObject, index: number): Deno.PointerObject<never> {
  const fn = new Deno.UnsafePointerView(table).getPointer(index * 8);
  if (fn === null) throw new Error(`null function pointer in slot ${index}`);
  return fn as Deno.PointerObject<never>;
}
