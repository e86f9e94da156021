/**
 * onnxruntime's one-time set-up, started while the server's modules are evaluated.
 *
 * The first native session of a process pays for loading onnxruntime's shared library
 * (~12-25 ms here) and creating its environment (~50 ms: every ONNX operator schema is
 * registered), on the calling isolate's thread; later sessions take ~8 ms. Both are
 * process-wide: the library is loaded once (the binding's own load finds it by its soname),
 * and `CreateEnv` returns the one environment that exists (`OrtEnv::GetInstance`, reference
 * counted, under a lock: a binding session asked for meanwhile waits for it). So when the
 * native probe's verdict, cached by an earlier start, says this add-on works here, this opens
 * the library (`Deno.dlopen`, on this thread: opening it on another thread too was slower, as
 * the environment could then only be asked for once the modules had been evaluated) and calls
 * `CreateEnv` as a `nonblocking` FFI call (`ort_c_api.ts`), on one of Deno's blocking-call
 * threads, while the HTTP isolate goes on evaluating modules and starting up;
 * the binding's first session then finds the environment made (figures: README, Engines).
 *
 * Started by `early.ts`, which `main.ts` and `serve.ts` import first; the start-up's exits
 * wait for it (`process_exit.ts`). Skipped, with the reason, where no passing verdict is cached
 * (a host's first start; a new container or pod, whose host name is part of the probe's key),
 * where the verdict is not trusted (`TINYUNET_NATIVE_PROBE=always|off`, a stand-in probe
 * module), for another engine, with `TINYUNET_NATIVE_PREWARM=0`, off Linux, or without FFI
 * permission for the library: the add-on is only ever loaded in-process after a probe child
 * survived it. The environment lives as long as the process, as the binding's own does. Why by
 * hand: the binding cannot start its set-up off the calling thread.
 *
 * @module
 */
import { ortApi, ortEnv, ortLibraryAllowed } from "../ort_c_api.ts";
import { kernelsBuilt } from "../direct/kernels.ts";
import { cachedProbe, nativeProbeOptions } from "./probe.ts";
import { parseEngineChoice } from "../select.ts";
import { engineSettings, parseEngineSettings } from "../settings.ts";

/** What the prewarm did. */
export interface PrewarmResult {
  done: boolean;
  /** why not, or what failed */
  reason?: string;
  /** from the start until this isolate saw the environment made (after the modules loaded) */
  ms?: number;
}

/**
 * Why this start skips the prewarm, or null when it should prewarm: the settings, the platform,
 * the permissions and the native probe's cached verdict. `env` defaults to the process's
 * environment. Never throws (a bad setting is the config's to report).
 */
export function prewarmSkipReason(env?: Record<string, string | undefined>): string | null {
  try {
    const vars = env ?? Deno.env.toObject();
    // the process's own settings are parsed once, for the engines too
    const settings = env ? parseEngineSettings(env) : engineSettings();
    if (!settings.nativePrewarm) return "TINYUNET_NATIVE_PREWARM=0";
    if (settings.nativeKernels === "direct" && kernelsBuilt(vars)) {
      return "the direct kernels are built: onnxruntime loads with the first model they do not cover";
    }
    const engine = parseEngineChoice(vars.TINYUNET_ENGINE);
    if (engine !== "auto" && engine !== "native") return `engine ${engine}`;
    if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
    const options = nativeProbeOptions(vars);
    if (options.module) return "the native probe tests a stand-in module";
    if (options.mode !== "cached") return `TINYUNET_NATIVE_PROBE=${options.mode}`;
    if (!ortLibraryAllowed()) return "no --allow-ffi for onnxruntime's library";
    if (!options.cacheDir) return "no cache folder";
    const verdict = cachedProbe(options);
    if (!verdict) return "no cached native probe verdict";
    return verdict.ok ? null : `native probe failed: ${verdict.reason}`;
  } catch (err) {
    return `cannot tell: ${(err as Error).message.split("\n")[0]}`;
  }
}

/**
 * Opens onnxruntime and creates its environment on a background thread; the promise never
 * rejects. Call once, and only where {@link prewarmSkipReason} said yes.
 */
export async function prewarmNative(): Promise<PrewarmResult> {
  const t0 = performance.now();
  try {
    // the library is opened on this thread; the environment is made on another
    ortApi();
    await ortEnv();
    return { done: true, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { done: false, reason: `failed: ${(err as Error).message.split("\n")[0]}` };
  }
}
