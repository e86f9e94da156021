import assert from "node:assert/strict";
import { hostLoadSettings, parseEngineSettings } from "../../../src/engines/settings.ts";

Deno.test("engine settings: defaults, values, and bad values named", () => {
  assert.deepEqual(parseEngineSettings({}), {
    nativeInHost: true,
    lanes: undefined,
    nativeArena: "shared",
    nativeKernels: "direct",
    soloSpin: "run",
    soloLocal: true,
    localFirst: true,
    nativePrewarm: true,
    wasmKernels: "direct",
    wasmArena: false,
    hangTimeoutMs: 30_000,
    loadTimeoutMs: 120_000,
  });
  const set = parseEngineSettings({
    TINYUNET_NATIVE_HOST: "0",
    TINYUNET_ENGINE_LANES: "3",
    TINYUNET_NATIVE_ARENA: "0",
    TINYUNET_NATIVE_KERNELS: "onnxruntime",
    TINYUNET_SOLO_SPIN: "1",
    TINYUNET_SOLO_LOCAL: "0",
    TINYUNET_NATIVE_PREWARM: "0",
    TINYUNET_WASM_KERNELS: "onnxruntime",
    TINYUNET_WASM_ARENA: " 1 ",
    TINYUNET_WEB_HANG_TIMEOUT_MS: "90000",
    TINYUNET_WEB_LOAD_TIMEOUT_MS: "",
  });
  assert.deepEqual(set, {
    nativeInHost: false,
    lanes: 3,
    nativeArena: "off",
    nativeKernels: "onnxruntime",
    soloSpin: "always",
    soloLocal: false,
    localFirst: false,
    nativePrewarm: false,
    wasmKernels: "onnxruntime",
    wasmArena: true,
    hangTimeoutMs: 90_000,
    loadTimeoutMs: 120_000,
  });
  assert.equal(parseEngineSettings({ TINYUNET_SOLO_SPIN: "run" }).soloSpin, "run");
  assert.equal(parseEngineSettings({ TINYUNET_LOCAL_FIRST: "0" }).localFirst, false);
  // local first needs the solo copy on this isolate
  assert.equal(parseEngineSettings({ TINYUNET_LOCAL_FIRST: "1" }).localFirst, true);
  assert.throws(() => parseEngineSettings({ TINYUNET_LOCAL_FIRST: "yes" }), /TINYUNET_LOCAL_FIRST/);
  assert.throws(
    () => parseEngineSettings({ TINYUNET_NATIVE_KERNELS: "fast" }),
    /TINYUNET_NATIVE_KERNELS/,
  );
  assert.throws(
    () => parseEngineSettings({ TINYUNET_WASM_KERNELS: "onnxruntime-web" }),
    /TINYUNET_WASM_KERNELS/,
  );
  assert.throws(
    () => parseEngineSettings({ TINYUNET_NATIVE_HOST: "maybe", TINYUNET_WEB_LOAD_TIMEOUT_MS: "5" }),
    /TINYUNET_NATIVE_HOST.*; TINYUNET_WEB_LOAD_TIMEOUT_MS/,
  );
});

Deno.test("host load settings: native sessions get the native arena (shared only once registered), web ones the wasm arena, all the idle delay", () => {
  const settings = parseEngineSettings({ TINYUNET_NATIVE_ARENA: "0", TINYUNET_WASM_ARENA: "1" });
  assert.deepEqual(hostLoadSettings("native", true, settings, 250), {
    arena: "off",
    idleGcMs: 250,
  });
  assert.deepEqual(hostLoadSettings("wasm", true, settings, 0), {
    arena: "own",
    idleGcMs: 0,
  });
  assert.deepEqual(hostLoadSettings("webgpu", false, settings, 0), {
    arena: "own",
    idleGcMs: 0,
  });
  const defaults = parseEngineSettings({});
  assert.deepEqual(hostLoadSettings("native", true, defaults, 1000), {
    arena: "shared",
    idleGcMs: 1000,
  });
  assert.deepEqual(hostLoadSettings("native", false, defaults, 1000), {
    arena: "own",
    idleGcMs: 1000,
  });
  assert.deepEqual(hostLoadSettings("wasm", true, defaults, 1000), {
    arena: "off",
    idleGcMs: 1000,
  });
  const own = parseEngineSettings({ TINYUNET_NATIVE_ARENA: "1" });
  assert.equal(own.nativeArena, "own");
  assert.deepEqual(hostLoadSettings("native", true, own, 0), {
    arena: "own",
    idleGcMs: 0,
  });
  assert.throws(
    () => parseEngineSettings({ TINYUNET_NATIVE_ARENA: "yes" }),
    /TINYUNET_NATIVE_ARENA/,
  );
});
