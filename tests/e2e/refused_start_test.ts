/**
 * A start the server refuses (TINYUNET_AUTH=required without keys) ends with exit code 1 and
 * its reason — never a crash — while onnxruntime's environment is being made on another thread
 * by the start-up prewarm (a passing native probe verdict cached beforehand). Before the
 * early exits waited for the prewarm (`src/process_exit.ts`), 2-3 of 20 such starts here ended in
 * SIGABRT or SIGSEGV: the exit ran onnxruntime's static destructors under `CreateEnv`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { nativeProbeOptions, probeNative } from "../../src/engines/native_probe/probe.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const STARTS = 21;

Deno.test(`a refused start exits 1 with its reason, ${STARTS} times, while onnxruntime is prewarmed`, async () => {
  const cache = await Deno.makeTempDir({ prefix: "tinyunet-refused-" });
  try {
    assert.ok((await probeNative(nativeProbeOptions({ TINYUNET_NATIVE_PROBE_CACHE: cache }))).ok);
    const ends: string[] = [];
    for (let i = 0; i < STARTS; i++) {
      // main.ts; deno serve; deno serve --parallel (two isolates, each with its prewarm)
      const kind = i % 3;
      const args = kind === 0 ? ["run", "--allow-all", "main.ts"] : [
        "serve",
        ...(kind === 2 ? ["--parallel"] : []),
        "--allow-all",
        "--port",
        "0",
        "serve.ts",
      ];
      const { code, signal, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        env: {
          TINYUNET_AUTH: "required",
          TINYUNET_LOG: "info", // the test runner may silence logs; this test reads them
          TINYUNET_NATIVE_PROBE_CACHE: cache,
          TINYUNET_HOST: "127.0.0.1",
          PORT: "0",
          DENO_JOBS: "2",
          ONNXRUNTIME_NODE_INSTALL: "skip",
        },
        stdin: "null",
      }).output();
      const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      assert.match(out, /"msg":"cannot start".*TINYUNET_AUTH=required/, out.slice(-500));
      ends.push(`${args.slice(0, -1).join(" ")}: ${signal ?? code}`);
    }
    assert.deepEqual(ends.filter((e) => !e.endsWith(": 1")), [], ends.join(", "));
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
