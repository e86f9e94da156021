/**
 * The native add-on's child-process probe, run at most once per process and logged: shared by
 * engine selection (`select.ts`) and the native engine's own `probe()` (`onnx_native.ts`).
 *
 * @module
 */
import { nativeProbeOptions, type NativeProbeResult, probeNative } from "./probe.ts";
import { log } from "../../server/log.ts";

const cache: { value?: Promise<NativeProbeResult | null> } = {};

/**
 * The native add-on's child-process probe, once per process; null when probing is off
 * (`TINYUNET_NATIVE_PROBE=off`).
 */
export function nativeProbe(): Promise<NativeProbeResult | null> {
  cache.value ??= (async () => {
    const options = nativeProbeOptions();
    if (options.mode === "off") return null;
    const result = await probeNative(options);
    const fields = { outcome: result.outcome, cached: result.cached, ms: result.ms };
    if (result.ok) log("info", "native engine probe", { reason: result.reason, ...fields });
    else log("warn", "native engine probe failed", { reason: result.reason, ...fields });
    return result;
  })();
  return cache.value;
}
