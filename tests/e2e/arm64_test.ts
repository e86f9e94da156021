/**
 * linux-arm64, emulated with qemu-user: `deno task bundle --arch arm64` lays out a bundle
 * (source, node_modules with onnxruntime-node's arm64 add-on, models, Deno's arm64 build
 * from npm, start.sh); its start script runs the server under `qemu-aarch64-static` once
 * with `auto` and once with `tfjs-wasm`, side by side. Every shipped model must be served,
 * one sample per model segmented, and each mask must equal the x86 server's on the same
 * engine; `auto` must survive the native add-on: either its probe passes and native
 * serves, or it falls back to wasm with the probe's reason (onnxruntime-node's arm64
 * build segfaults under qemu 7.2, so the fallback is what runs here).
 *
 * Needs `qemu-user-static` and the arm64 C/C++ runtimes (`deno task setup`, tools/setup.ts, installs
 * them) and npm (for the arm64 Deno). Emulated times are not performance figures; the
 * test only bounds them (see {@link LIMIT_MS}).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decode } from "fast-png";
import { makeBundle } from "../../tools/bundle/bundle.ts";
import { freePort, ServerProcess, waitReady } from "../helpers/server_process.ts";
import { ARM64_EMULATOR, ARM64_PACKAGES, arm64EmulationMissing } from "../../tools/setup.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/**
 * Bound on the whole test (a hang guard, not a speed check). The whole test uses ~7
 * CPU-minutes, most of it in the two emulated servers running side by side, so ~4-5
 * minutes on an otherwise idle 2-core machine (estimated from CPU time; not measured on an
 * idle machine); on the shared development machine (load ~13 on 2 cores) it took 11-16
 * minutes. `TINYUNET_ARM64_LIMIT_S` changes the bound.
 */
const LIMIT_MS = Number(Deno.env.get("TINYUNET_ARM64_LIMIT_S") ?? 1500) * 1000;

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  try {
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in ticks of 10 ms
  } catch {
    return NaN;
  }
}

interface Runtime {
  engine: string;
  reason: string;
}
interface ModelEntry {
  name: string;
  runtime: Runtime[];
}

/** One sample image per shipped model (the first by name). */
function samples(): { model: string; path: string }[] {
  const models = join(ROOT, "models");
  return [...Deno.readDirSync(models)].filter((e) => e.isDirectory).map((e) => e.name).sort()
    .map((model) => {
      const dir = join(models, model, "samples");
      const image = [...Deno.readDirSync(dir)].map((e) => e.name)
        .filter((n) => n.endsWith(".png") && !n.endsWith("_mask.png")).sort()[0];
      return { model, path: join(dir, image) };
    });
}

/** The mask PNG a server returns for one image (fp32, the card's clean-up). */
async function mask(base: string, model: string, image: string): Promise<Uint8Array> {
  const body = new FormData();
  body.set("image", new Blob([await Deno.readFile(image)], { type: "image/png" }), "i.png");
  const res = await fetch(`${base}/v1/models/${model}/segment?precision=fp32`, {
    method: "POST",
    body,
  });
  assert.equal(res.status, 200, `${model}: ${res.status} ${await res.clone().text()}`);
  const png = decode(new Uint8Array(await res.arrayBuffer()));
  return png.data instanceof Uint8Array ? png.data : new Uint8Array(png.data.buffer);
}

function differing(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length, "mask sizes differ");
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

async function listModels(base: string): Promise<ModelEntry[]> {
  return (await (await fetch(`${base}/v1/models`)).json()).models;
}

/** Starts the x86 server on an engine and returns its masks. */
async function x86Masks(engine: string): Promise<Map<string, Uint8Array>> {
  const port = freePort();
  await using _server = new ServerProcess(["run", "-A", "main.ts"], {
    PORT: String(port),
    TINYUNET_HOST: "127.0.0.1",
    TINYUNET_ENGINE: engine,
    TINYUNET_WATCH: "off",
  });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base, 120_000);
  const out = new Map<string, Uint8Array>();
  for (const s of samples()) out.set(s.model, await mask(base, s.model, s.path));
  return out;
}

Deno.test({
  name:
    "linux-arm64 (qemu-user): the bundle serves every shipped model on auto and tfjs-wasm, masks equal x86's, auto survives the native add-on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const missing = arm64EmulationMissing();
    assert.deepEqual(
      missing,
      [],
      `arm64 emulation needs: ${ARM64_PACKAGES.join(" ")} (deno task setup installs them as root)`,
    );
    const started = performance.now();
    const work = await Deno.makeTempDir({ prefix: "tinyunet-arm64-" });
    const bundle = join(work, "bundle");
    const servers: ServerProcess[] = [];
    try {
      await t.step("bundle for arm64", async () => {
        const manifest = await makeBundle({ arch: "arm64", out: bundle });
        assert.equal(manifest.arch, "arm64");
        assert.deepEqual(manifest.models, samples().map((s) => s.model));
        // the Deno binary is an aarch64 ELF (e_machine 0xB7)
        const elf = (await Deno.readFile(join(bundle, "bin", "deno"))).subarray(0, 20);
        assert.deepEqual([...elf.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
        assert.equal(elf[18] | (elf[19] << 8), 0xb7);
        const napi = join(bundle, "node_modules", "onnxruntime-node", "bin", "napi-v6");
        assert.ok(existsSync(join(napi, "linux", "arm64", "onnxruntime_binding.node")));
        assert.ok(!existsSync(join(napi, "linux", "x64")), "other platforms pruned");
        assert.ok(!existsSync(join(bundle, "node_modules", "playwright-core")), "no test deps");
      });

      const reference = new Map<string, Map<string, Uint8Array>>();
      await t.step("x86 reference masks (wasm, tfjs-wasm, native)", async () => {
        for (const engine of ["wasm", "tfjs-wasm", "native"]) {
          reference.set(engine, await x86Masks(engine));
        }
      });

      // both emulated servers start at once: emulation is the slow part
      const engines = ["auto", "tfjs-wasm"] as const;
      const ports = engines.map(() => freePort());
      engines.forEach((engine, i) =>
        servers.push(
          new ServerProcess([], {
            PORT: String(ports[i]),
            TINYUNET_HOST: "127.0.0.1",
            TINYUNET_ENGINE: engine,
            TINYUNET_WATCH: "off",
            TINYUNET_EMULATOR: ARM64_EMULATOR.join(" "),
            DENO_DIR: join(bundle, "deno_dir"),
            TINYUNET_NATIVE_PROBE: "always",
            TINYUNET_NATIVE_PROBE_CACHE: join(work, "probe-cache"),
            TINYUNET_NATIVE_PROBE_TIMEOUT_MS: "180000",
            // emulation makes compiling onnxruntime-web's wasm 10-30× slower than native
            TINYUNET_WEB_LOAD_TIMEOUT_MS: String(LIMIT_MS),
            TINYUNET_WEB_HANG_TIMEOUT_MS: "300000",
            TINYUNET_REQUEST_TIMEOUT_MS: "300000",
          }, { command: join(bundle, "start.sh"), cwd: bundle }),
        )
      );

      for (const [i, engine] of engines.entries()) {
        await t.step(`arm64 ${engine}`, async () => {
          const server = servers[i];
          const ready = await server.waitForLog(
            (l) => l.msg === "ready",
            `the arm64 ${engine} server to be ready`,
            Math.max(10_000, LIMIT_MS - (performance.now() - started)),
          );
          const base = `http://127.0.0.1:${ports[i]}`;
          const models = await listModels(base);
          assert.deepEqual(models.map((m) => m.name).sort(), samples().map((s) => s.model));
          const runtime = models[0].runtime[0];
          for (const m of models) assert.equal(m.runtime[0].engine, runtime.engine, m.name);
          if (engine === "auto") {
            const probe = server.json().find((l) =>
              String(l.msg).startsWith("native engine probe")
            );
            assert.ok(probe, "auto probed the native engine");
            if (runtime.engine === "native") {
              assert.equal(probe.msg, "native engine probe");
            } else {
              assert.equal(runtime.engine, "wasm");
              assert.match(runtime.reason, /skipped native: native probe/);
            }
            console.log(`arm64 auto → ${runtime.engine}: ${runtime.reason}`);
          } else {
            assert.equal(runtime.engine, engine);
          }
          const ref = reference.get(runtime.engine)!;
          const crossRef = reference.get("native")!;
          for (const s of samples()) {
            const got = await mask(base, s.model, s.path);
            const same = differing(got, ref.get(s.model)!);
            const vsNative = differing(got, crossRef.get(s.model)!);
            console.log(
              `arm64 ${runtime.engine} ${s.model}: ${same} pixels differ from x86 ${runtime.engine}, ${vsNative} (${
                (100 * vsNative / got.length).toFixed(3)
              } %) from x86 native`,
            );
            assert.equal(same, 0, `${s.model}: the fp32 mask equals x86's on ${runtime.engine}`);
            assert.ok(vsNative / got.length <= 0.005, `${s.model}: within 0.5 % of x86 native`);
          }
          console.log(
            `arm64 ${engine}: ready after ${ready.ms} ms wall, ${
              cpuSeconds(server.pid).toFixed(0)
            } CPU-s so far (emulated: not a performance figure)`,
          );
          assert.equal(server.exited, undefined, "the server is still running");
        });
      }
    } finally {
      for (const s of servers) await s[Symbol.asyncDispose]();
      await Deno.remove(work, { recursive: true });
      console.log(`arm64 test: ${Math.round((performance.now() - started) / 1000)} s in all`);
    }
  },
});
