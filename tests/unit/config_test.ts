/**
 * Settings from the environment (src/config.ts): every field set from one list of defaults,
 * blank values count as unset, and a bad value is an error naming its variable.
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadConfig, SHIPPED_MODELS_DIR } from "../../src/config.ts";
import { loadDicomNodeConfig } from "../../src/dicom_node/config.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/imaging/image.ts";
import { defaultWorkers } from "../../src/serving/pool.ts";

Deno.test("config: the defaults, every field set", () => {
  const { dicomNode, ...server } = loadConfig({});
  assert.deepEqual(dicomNode, loadDicomNodeConfig({}), "the DICOM node's own parser");
  assert.deepEqual(server, {
    port: 8000,
    hostname: "0.0.0.0",
    modelsDir: SHIPPED_MODELS_DIR,
    defaultModel: undefined,
    engine: "auto",
    threads: undefined,
    soloThreads: Math.min(navigator.hardwareConcurrency || 1, 4),
    maxBodyBytes: 32 * 1024 * 1024,
    maxPixels: DEFAULT_DECODE_LIMITS.maxPixels,
    tilePixels: 512 * 512,
    maxRuns: 0,
    maxQueue: 8,
    maxBatch: 1,
    batchDelayMs: 2,
    requestTimeoutMs: 30_000,
    apiKeys: [],
    auth: "auto",
    metricsPublic: true,
    corsOrigins: [],
    watch: "fs",
    watchIntervalMs: 2000,
    shutdownTimeoutMs: 25_000,
    ready: "all",
    shutdownDelayMs: 0,
    workers: defaultWorkers(),
    workerIdleMs: 30_000,
    laneIdleMs: 15_000,
    mallocTrimMs: 2000,
    trimBusySlackMiB: 0,
    trimBusyIntervalMs: 10_000,
    idleGcMs: 1000,
    mmapThresholdBytes: 32 * 1024 * 1024,
    busyDelayMs: 1000,
    connectionFront: true,
    maxConnections: 4096,
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 30_000,
  });
});

Deno.test("config: values are read, blanks are unset, words in any case", () => {
  const c = loadConfig({
    PORT: "0",
    TINYUNET_HOST: " ",
    TINYUNET_THREADS: "3",
    TINYUNET_MAX_BODY_MB: "1.5",
    TINYUNET_MAX_QUEUE: "0",
    TINYUNET_TILE_PIXELS: "0",
    TINYUNET_MAX_RUNS: "2",
    TINYUNET_MAX_BATCH: "4",
    TINYUNET_BATCH_DELAY_MS: "0",
    TINYUNET_WATCH: "POLL",
    TINYUNET_METRICS_PUBLIC: "false",
    TINYUNET_ENGINE: "tfjs_wasm",
    TINYUNET_DEFAULT_MODEL: "hc18",
    TINYUNET_READY: "Default-Model",
  });
  assert.equal(c.port, 0);
  assert.equal(c.hostname, "0.0.0.0");
  assert.equal(c.threads, 3);
  assert.equal(c.maxBodyBytes, 1.5 * 1024 * 1024);
  assert.equal(c.maxQueue, 0);
  assert.equal(c.tilePixels, 0, "0 turns tiling off");
  assert.equal(c.maxRuns, 2);
  assert.equal(c.maxBatch, 4);
  assert.equal(c.batchDelayMs, 0);
  assert.equal(c.watch, "poll");
  assert.equal(c.metricsPublic, false);
  assert.equal(c.engine, "tfjs-wasm");
  assert.equal(c.defaultModel, "hc18");
  assert.equal(c.ready, "default-model");
});

Deno.test("config: a bad value names its variable", () => {
  for (
    const [env, message] of [
      [{ PORT: "http" }, /PORT: http is not a number ≥ 0/],
      [{ TINYUNET_THREADS: "0" }, /TINYUNET_THREADS: 0 is not a number ≥ 1/],
      [{ TINYUNET_MAX_BATCH: "0" }, /TINYUNET_MAX_BATCH: 0 is not a number ≥ 1/],
      [
        { TINYUNET_WATCH_INTERVAL_MS: "10" },
        /TINYUNET_WATCH_INTERVAL_MS: 10 is not a number ≥ 50/,
      ],
      [{ TINYUNET_WATCH: "inotify" }, /TINYUNET_WATCH: inotify: expected fs, poll, off/],
      [{ TINYUNET_READY: "some" }, /TINYUNET_READY: some: expected all, default-model/],
      [{ TINYUNET_ENGINE: "cuda" }, /TINYUNET_ENGINE: unknown engine "cuda"/],
      [{ TINYUNET_ADMIN_KEYS: "short" }, /TINYUNET_ADMIN_KEYS: every key needs ≥ 16/],
      [{ TINYUNET_MMAP_THRESHOLD_KB: "65536" }, /TINYUNET_MMAP_THRESHOLD_KB: at most 32768/],
      [{ TINYUNET_MALLOC_TRIM_MS: "-1" }, /TINYUNET_MALLOC_TRIM_MS: -1 is not a number ≥ 0/],
    ] as const
  ) {
    assert.throws(() => loadConfig(env), message, JSON.stringify(env));
  }
  // a key is never echoed in the message
  assert.throws(() => loadConfig({ TINYUNET_API_KEYS: "secret!" }), (err: Error) => {
    assert.doesNotMatch(err.message, /secret!/);
    return true;
  });
});

Deno.test("config: the engines' settings are checked at start-up too", () => {
  assert.throws(() => loadConfig({ TINYUNET_ENGINE_LANES: "0" }), /TINYUNET_ENGINE_LANES/);
  assert.throws(() => loadConfig({ TINYUNET_NATIVE_ARENA: "yes" }), /TINYUNET_NATIVE_ARENA/);
  assert.throws(() => loadConfig({ TINYUNET_WEB_HANG_TIMEOUT_MS: "10" }), /TINYUNET_WEB_HANG/);
});

Deno.test("config: the busy trim slack (MiB) and interval (ms) are read; a negative slack is refused", () => {
  assert.equal(loadConfig({ TINYUNET_TRIM_BUSY_SLACK_MIB: "64" }).trimBusySlackMiB, 64);
  assert.equal(loadConfig({ TINYUNET_TRIM_BUSY_INTERVAL_MS: "0" }).trimBusyIntervalMs, 0);
  assert.throws(() => loadConfig({ TINYUNET_TRIM_BUSY_SLACK_MIB: "-1" }), /TRIM_BUSY_SLACK/);
});

Deno.test("the server's settings module turns zod's schema compiler off (a cold start parses each schema only a few times)", async () => {
  const { z } = await import("zod");
  await import("../../src/config.ts");
  assert.equal(z.config().jitless, true);
});
