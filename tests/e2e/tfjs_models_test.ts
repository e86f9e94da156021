/**
 * Whole-model parity of the tfjs-wasm engine with onnxruntime-node (max |Δlogit| ≤ 1e-4):
 * builder U-Nets (BatchNorm or not, fixed or dynamic size), PyTorch exports (the committed
 * external-data fixture and a fresh export of the distillation student by
 * tools/distill/export.py) and every model shipped under models/ (fp32 files within 1e-4;
 * int8 QDQ files by mask agreement, see below).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHIPPED_MODELS_DIR } from "../../src/config.ts";
import { tfjsWasmEngine } from "../../src/engines/tfjs_wasm.ts";
import type { Precision } from "../../src/models/model_version.ts";
import { readEntry, readModelSource, scanRepository } from "../../src/models/repository.ts";
import { unetModel } from "../../lib/onnx_builder.ts";
import { findPython } from "../../lib/python.ts";
import { compareEngines, maxAbsDiff } from "../helpers/tfjs_parity.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const io = { input: "image", output: "logits" };

for (const batchNorm of [false, true]) {
  for (const fixedSize of [undefined, [64, 96] as [number, number]]) {
    Deno.test(`tfjs-wasm matches onnxruntime on a builder U-Net (batchNorm ${batchNorm}, ${fixedSize ? "fixed" : "dynamic"} size)`, async () => {
      const bytes = unetModel({ width: 4, depth: 4, batchNorm, fixedSize, seed: 21 });
      await compareEngines(bytes, [1, 3, 64, 96], io);
    });
  }
}

Deno.test("tfjs-wasm matches onnxruntime on the 256² TinyUnet", async () => {
  await compareEngines(unetModel({ width: 4, depth: 4, seed: 7 }), [1, 3, 256, 256], io);
});

Deno.test("tfjs-wasm matches onnxruntime and PyTorch on the committed PyTorch export with external data", async () => {
  const fixtures = join(ROOT, "tests/fixtures/torch_external");
  const { source } = await readModelSource(await readEntry(fixtures, "tiny", "1"), "fp32");
  const expected = JSON.parse(await Deno.readTextFile(join(fixtures, "expected.json")));
  const n = 32 * 48;
  const data = new Float32Array(n).map((_, i) => -1 + (2 * i) / (n - 1));
  const session = await tfjsWasmEngine.createSession(source);
  const out = (await session.run({ image: { data, dims: [1, 1, 32, 48] } })).logits;
  await session.release();
  assert.ok(maxAbsDiff(Float32Array.from(expected.output as number[]), out.data) <= 1e-4);
  await compareEngines(source, [1, 1, 32, 48], io);
});

const EXPORT_SCRIPT = `
import sys, json, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from tools.distill.nets import build
from tools.distill.export import export_onnx
torch.manual_seed(0)
model = build("student", 3, 4)
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics, as after training
        m.running_mean.uniform_(-0.5, 0.5); m.running_var.uniform_(0.5, 2.0)
        m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.2, 0.2)
model.eval()
export_onnx(model, 3, sys.argv[2] + "/model.onnx")
x = torch.linspace(-1, 1, 3 * 48 * 80).reshape(1, 3, 48, 80)
with torch.no_grad():
    y = model(x)
y.numpy().astype(np.float32).tofile(sys.argv[2] + "/torch_logits.f32")
`;

Deno.test("tfjs-wasm matches onnxruntime and PyTorch on a fresh tools/distill export of the student", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tfjs-torch-" });
  try {
    const python = findPython(["torch", "onnx", "numpy"]);
    assert.ok(python, "a Python with torch, onnx and numpy (deno task setup installs them)");
    const run = await new Deno.Command(python, {
      args: ["-c", EXPORT_SCRIPT, ROOT, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(
      run.success,
      `PyTorch export failed: ${new TextDecoder().decode(run.stderr).slice(-1500)}`,
    );
    const bytes = await Deno.readFile(join(dir, "model.onnx"));
    const source = { path: join(dir, "model.onnx"), bytes, externalData: [] };
    const torch = new Float32Array((await Deno.readFile(join(dir, "torch_logits.f32"))).buffer);
    const n = 3 * 48 * 80;
    const data = new Float32Array(n).map((_, i) => Math.fround(-1 + (2 * i) / (n - 1)));
    const session = await tfjsWasmEngine.createSession(source);
    const out = (await session.run({ image: { data, dims: [1, 3, 48, 80] } })).logits;
    await session.release();
    assert.ok(
      maxAbsDiff(torch, out.data) <= 1e-4,
      `differs from PyTorch by ${maxAbsDiff(torch, out.data)}`,
    );
    await compareEngines(source, [1, 3, 48, 80], io);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// TINYUNET_MODELS points the check at another repository (e.g. one with fresh int8 files).
const MODELS_DIR = Deno.env.get("TINYUNET_MODELS") || SHIPPED_MODELS_DIR;
const shipped = await scanRepository(MODELS_DIR).catch(() => []);

Deno.test("there is at least one shipped model to check", () => {
  assert.ok(shipped.length > 0, `no models under ${MODELS_DIR}`);
});

for (const entry of shipped) {
  const precisions: Precision[] = entry.card.files.int8 ? ["fp32", "int8"] : ["fp32"];
  for (const precision of precisions) {
    Deno.test(`tfjs-wasm matches onnxruntime on shipped ${entry.name}/${entry.version} (${precision})`, async () => {
      const { source } = await readModelSource(entry, precision);
      const { input, output } = entry.card;
      const round = (v: number) => Math.ceil(v / input.pad_multiple) * input.pad_multiple;
      const h = input.height ?? round(input.resize?.long_side ?? 256);
      const w = input.width ?? round(input.resize?.long_side ?? 256);
      const io = { input: input.name, output: output.name };
      if (precision === "fp32") {
        await compareEngines(source, [1, input.channels, h, w], io);
        return;
      }
      // int8 (QDQ): onnxruntime runs fused integer kernels, tfjs the float32 QDQ math, so
      // values near a rounding step quantize one step apart and the difference spreads
      // (onnxruntime-web and -node differ by ~0.05 on such files too). Masks must agree.
      const { native, tfjs } = await compareEngines(source, [1, input.channels, h, w], {
        ...io,
        tol: Infinity,
      });
      const cut = output.kind === "logits"
        ? Math.log(entry.card.threshold / (1 - entry.card.threshold))
        : entry.card.threshold;
      const agree = native.data.filter((v, i) => (v > cut) === (tfjs.data[i] > cut)).length /
        native.data.length;
      assert.ok(agree >= 0.99, `int8 masks agree on ${agree} of pixels`);
    });
  }
}
