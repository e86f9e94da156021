import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeImage } from "../../../../src/imaging/decode.ts";
import { GraphBuilder, unetModel } from "../../../../lib/onnx_builder.ts";
import { DataType, decodeModel, encodeModel, type onnx } from "../../../../src/onnx/proto.ts";
import { segmentImage } from "../../../../src/segment.ts";
import { loadModel } from "../../../../mod.ts";
import { HC18_SAMPLE, ISIC_SAMPLE, makeJpeg, makePng } from "../../../helpers/images.ts";
import { makeRepo } from "../../../helpers/model_repo.ts";
import { CalibrationDataError } from "../../../../tools/quantize/calibration_images.ts";
import { sha256Hex } from "../../../../src/models/hash.ts";
import {
  DEFAULT_QUANTIZE_OPTIONS,
  QuantizeError,
  quantizeModelVersion,
  type QuantizeOptions,
} from "../../../../tools/quantize/quantize.ts";

/** A folder of calibration images: synthetic PNG/JPEG made in code. */
async function syntheticFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-calib-" });
  await Deno.writeFile(join(dir, "a.png"), makePng(80, 60, 3));
  await Deno.writeFile(join(dir, "b.png"), makePng(50, 70, 1));
  await Deno.writeFile(join(dir, "c.jpg"), makeJpeg(64, 64));
  return dir;
}

/** A folder holding the committed real images (a clinic's "own" images). */
async function realFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-calib-" });
  await Deno.copyFile(ISIC_SAMPLE, join(dir, "isic.png"));
  await Deno.copyFile(HC18_SAMPLE, join(dir, "hc18.png"));
  return dir;
}

function options(
  modelDir: string,
  calibFolder: string,
  over: Partial<QuantizeOptions> = {},
): QuantizeOptions {
  return { ...DEFAULT_QUANTIZE_OPTIONS, modelDir, calibFolder, threads: 1, ...over };
}

async function readCard(dir: string): Promise<Record<string, any>> {
  return JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
}

function agreement(a: Uint8Array, b: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/** The graph of `.onnx` bytes, with its lists filled in. */
function graphOf(bytes: Uint8Array) {
  const g = decodeModel(bytes).graph!;
  return { node: g.node ?? [], initializer: g.initializer ?? [] };
}

async function cleanup(...dirs: string[]) {
  for (const d of dirs) await Deno.remove(d, { recursive: true });
}

Deno.test("quantize writes a valid QDQ model (int8 weights, int32 biases) and records it in the card", async () => {
  const root = await makeRepo([{ name: "lesion", net: { width: 4, depth: 2, batchNorm: true } }]);
  const calib = await syntheticFolder();
  const dir = join(root, "lesion", "1");
  try {
    const fp32Before = await Deno.readFile(join(dir, "model.onnx"));
    const result = await quantizeModelVersion(options(dir, calib));
    assert.deepEqual(
      await Deno.readFile(join(dir, "model.onnx")),
      fp32Before,
      "the fp32 model is untouched",
    );

    const card = await readCard(dir);
    assert.equal(card.files.int8, "model.int8.onnx");
    assert.equal(card.files.fp32, "model.onnx");
    assert.equal(card.precision ?? "fp32", "fp32", "the default precision is not flipped");
    const q = card.quantization;
    assert.equal(q.method, "minmax");
    assert.equal(q.per_channel, true);
    assert.equal(q.calibration.images, 3);
    assert.match(q.calibration.sha256, /^[0-9a-f]{64}$/);
    assert.equal(q.batchnorm_folded, 10); // 2 per block, 5 blocks at depth 2
    for (const op of ["Conv", "ConvTranspose", "Concat", "MaxPool", "Relu"]) {
      assert.ok(q.ops_quantized[op] > 0, op);
    }
    assert.deepEqual(q.ops_fp32, { Identity: 1 });
    assert.ok(q.sizes.int8_bytes < q.sizes.fp32_bytes);

    const graph = graphOf(await Deno.readFile(result.path));
    const ops = graph.node.map((n: onnx.INodeProto) => n.opType);
    assert.ok(!ops.includes("BatchNormalization"));
    assert.ok(ops.includes("QuantizeLinear") && ops.includes("DequantizeLinear"));
    const init = new Map(graph.initializer.map((t: onnx.ITensorProto) => [t.name, t]));
    const producer = new Map(
      graph.node.flatMap((n: onnx.INodeProto) => (n.output ?? []).map((o) => [o, n] as const)),
    );
    const axisOf = (n: onnx.INodeProto) =>
      Number(n.attribute?.find((a) => a.name === "axis")?.i ?? 1);
    for (
      const node of graph.node.filter((n: onnx.INodeProto) =>
        n.opType === "Conv" || n.opType === "ConvTranspose"
      )
    ) {
      const wdq = producer.get(node.input![1])!;
      assert.equal(wdq.opType, "DequantizeLinear", `${node.name} weight is dequantised`);
      assert.equal(init.get(wdq.input![0])!.dataType, DataType.INT8);
      assert.equal(
        axisOf(wdq),
        node.opType === "ConvTranspose" ? 1 : 0,
        `${node.opType} per-channel axis`,
      );
      const bdq = producer.get(node.input![2])!;
      assert.equal(bdq.opType, "DequantizeLinear");
      assert.equal(init.get(bdq.input![0])!.dataType, DataType.INT32);
    }
    assert.ok(
      !graph.initializer.some((t: onnx.ITensorProto) =>
        t.dataType === DataType.FLOAT && (t.dims?.length ?? 0) === 4
      ),
      "no float conv weights remain",
    );
  } finally {
    await cleanup(root, calib);
  }
});

Deno.test("int8 agrees with fp32 on a real image on the native and wasm engines", async () => {
  const root = await makeRepo([{ name: "lesion", net: { width: 4, depth: 2, batchNorm: true } }]);
  const calib = await realFolder();
  const dir = join(root, "lesion", "1");
  try {
    await quantizeModelVersion(options(dir, calib));
    const image = await decodeImage(await Deno.readFile(ISIC_SAMPLE), "image/png", {
      maxPixels: 1e7,
    });
    const native = await loadModel(dir, { engine: "native", threads: 1 });
    const wasm = await loadModel(dir, { engine: "wasm", threads: 1 });
    try {
      const fp32 = (await segmentImage(native, image, { precision: "fp32" })).segmentation;
      const int8 = await segmentImage(native, image, { precision: "int8" });
      const int8Wasm = await segmentImage(wasm, image, { precision: "int8" });
      assert.equal(int8.runtime.precision, "int8");
      assert.equal(int8Wasm.runtime.engine, "wasm");
      assert.equal(int8Wasm.runtime.precision, "int8");
      const fg = fp32.mask.reduce((a, b) => a + b, 0);
      assert.ok(fg > 0 && fg < fp32.mask.length, "the fixture model gives a non-trivial mask");
      assert.ok(
        agreement(fp32.mask, int8.segmentation.mask) > 0.97,
        `native fp32/int8 agreement ${agreement(fp32.mask, int8.segmentation.mask)}`,
      );
      assert.ok(
        agreement(int8.segmentation.mask, int8Wasm.segmentation.mask) > 0.99,
        "native and wasm int8 agree",
      );
      let maxDiff = 0;
      for (let i = 0; i < fp32.probability.length; i++) {
        maxDiff = Math.max(
          maxDiff,
          Math.abs(fp32.probability[i] - int8.segmentation.probability[i]),
        );
      }
      assert.ok(maxDiff < 0.2, `probability difference ${maxDiff}`);
    } finally {
      await native.unload();
      await wasm.unload();
    }
  } finally {
    await cleanup(root, calib);
  }
});

Deno.test("re-calibration on another folder gives a different but valid model", async () => {
  const root = await makeRepo([{ name: "a", net: { width: 2, depth: 2 } }, {
    name: "b",
    net: { width: 2, depth: 2 },
  }]);
  const synthetic = await syntheticFolder();
  const real = await realFolder();
  try {
    const a = await quantizeModelVersion(options(join(root, "a", "1"), synthetic));
    const b = await quantizeModelVersion(options(join(root, "b", "1"), real));
    const bytesA = await Deno.readFile(a.path), bytesB = await Deno.readFile(b.path);
    assert.notDeepEqual(bytesA, bytesB);
    assert.notEqual((a.record.calibration as any).sha256, (b.record.calibration as any).sha256);
    // same graph structure, different activation scales
    assert.equal(graphOf(bytesA).node.length, graphOf(bytesB).node.length);
    const image = await decodeImage(await Deno.readFile(HC18_SAMPLE), "image/png", {
      maxPixels: 1e7,
    });
    const model = await loadModel(join(root, "b", "1"), { engine: "native", threads: 1 });
    try {
      const r = await segmentImage(model, image, { precision: "int8" });
      assert.equal(r.segmentation.mask.length, image.width * image.height);
    } finally {
      await model.unload();
    }
  } finally {
    await cleanup(root, synthetic, real);
  }
});

Deno.test("percentile and entropy methods, per-tensor weights and int8 activations give loadable models", async () => {
  const root = await makeRepo([{ name: "p", net: { width: 2, depth: 1 } }, {
    name: "e",
    net: { width: 2, depth: 1 },
  }]);
  const calib = await syntheticFolder();
  try {
    const p = await quantizeModelVersion(
      options(join(root, "p", "1"), calib, { method: "percentile", perChannel: false }),
    );
    const e = await quantizeModelVersion(
      options(join(root, "e", "1"), calib, {
        method: "entropy",
        activationType: "int8",
        reduceRange: true,
      }),
    );
    assert.equal(p.record.method, "percentile");
    assert.equal(p.record.per_channel, false);
    assert.match(String(e.record.activations), /^int8/);
    // the input image is quantised with a zero point of int8 type
    const graph = graphOf(await Deno.readFile(e.path));
    const q = graph.node.find((n: onnx.INodeProto) =>
      n.opType === "QuantizeLinear" && n.input?.[0] === "image"
    )!;
    const zp = graph.initializer.find((t: onnx.ITensorProto) => t.name === q.input![2])!;
    assert.equal(zp.dataType, DataType.INT8);
    for (const check of [p.record.check, e.record.check] as any[]) {
      assert.ok(check.mask_agreement > 0.9);
    }
  } finally {
    await cleanup(root, calib);
  }
});

Deno.test("--set-default makes int8 the default and old int8 metrics are dropped", async () => {
  const root = await makeRepo([{
    name: "lesion",
    net: { width: 2, depth: 1 },
    card: { metrics: { test: { dice: 0.8 }, test_deployed_int8: { dice: 0.1 } } },
  }]);
  const calib = await syntheticFolder();
  const dir = join(root, "lesion", "1");
  try {
    await quantizeModelVersion(options(dir, calib, { setDefault: true }));
    const card = await readCard(dir);
    assert.equal(card.precision, "int8");
    assert.deepEqual(card.metrics, { test: { dice: 0.8 } });
    const model = await loadModel(dir, { engine: "native", threads: 1 });
    try {
      assert.equal((await model.runtime())[0].precision, "int8");
    } finally {
      await model.unload();
    }
  } finally {
    await cleanup(root, calib);
  }
});

Deno.test("a file that is not ONNX is a clear error and nothing is written", async () => {
  const root = await makeRepo([{
    name: "lesion",
    onnx: new TextEncoder().encode("this is not a model"),
  }]);
  const calib = await syntheticFolder();
  const dir = join(root, "lesion", "1");
  try {
    const cardBefore = await Deno.readTextFile(join(dir, "model.json"));
    await assert.rejects(
      quantizeModelVersion(options(dir, calib)),
      (err: Error) => err instanceof QuantizeError && /not an ONNX model/.test(err.message),
    );
    assert.equal(await Deno.readTextFile(join(dir, "model.json")), cardBefore);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "model.json",
      "model.onnx",
    ]);
  } finally {
    await cleanup(root, calib);
  }
});

Deno.test("a calibration folder without usable images fails before anything is written", async () => {
  const root = await makeRepo([{ name: "lesion", net: { width: 2, depth: 1 } }]);
  const junk = await Deno.makeTempDir();
  await Deno.writeTextFile(join(junk, "readme.txt"), "no images here");
  const dir = join(root, "lesion", "1");
  try {
    await assert.rejects(quantizeModelVersion(options(dir, junk)), CalibrationDataError);
    assert.ok(!(await readCard(dir)).files.int8);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "model.json",
      "model.onnx",
    ]);
  } finally {
    await cleanup(root, junk);
  }
});

/** conv → Softplus (unknown to the quantiser) → conv → logits */
function modelWithUnknownOp(): Uint8Array {
  const g = new GraphBuilder(5);
  const x = g.input("image", [1, 3, "H", "W"]);
  const y = g.node("Softplus", [g.conv(x, 3, 4)]);
  g.output(g.conv(g.relu(g.conv(y, 4, 4)), 4, 1, 1), "logits", [1, 1, "H", "W"]);
  return g.build();
}

Deno.test("ops the quantiser does not know stay fp32 and are reported", async () => {
  const root = await makeRepo([{ name: "lesion", onnx: modelWithUnknownOp() }]);
  const calib = await syntheticFolder();
  const dir = join(root, "lesion", "1");
  try {
    const result = await quantizeModelVersion(options(dir, calib));
    assert.deepEqual(result.record.ops_fp32, { Softplus: 1, Identity: 1 });
    assert.ok(
      (result.record.left_fp32 as { reason: string }[]).some((s) => /Softplus/.test(s.reason)),
    );
    assert.equal((result.record.ops_quantized as Record<string, number>).Conv, 3);
    assert.ok((result.record.check as any).mask_agreement > 0.9);
  } finally {
    await cleanup(root, calib);
  }
});

Deno.test("a model with nothing to quantise is refused", async () => {
  const g = new GraphBuilder(1);
  const x = g.input("image", [1, 3, "H", "W"]);
  g.output(g.node("ReduceMean", [x], [{ name: "axes", type: 7, ints: [1] }]), "logits", [
    1,
    1,
    "H",
    "W",
  ]);
  const root = await makeRepo([{ name: "lesion", onnx: g.build() }]);
  const calib = await syntheticFolder();
  const dir = join(root, "lesion", "1");
  try {
    await assert.rejects(
      quantizeModelVersion(options(dir, calib)),
      /nothing could be quantised \(ReduceMean/,
    );
    assert.ok(!(await readCard(dir)).quantization);
  } finally {
    await cleanup(root, calib);
  }
});

Deno.test("--min-channels keeps narrow convolutions fp32 and says so", async () => {
  const root = await makeRepo([{ name: "lesion", net: { width: 4, depth: 2 } }]);
  const calib = await syntheticFolder();
  const dir = join(root, "lesion", "1");
  try {
    // widths 4, 8, 16: the 4-channel convs (and the 1-channel head) stay fp32
    const r = await quantizeModelVersion(options(dir, calib, { minChannels: 8 }));
    const fp32 = r.record.ops_fp32 as Record<string, number>;
    assert.equal(fp32.Conv, 5); // two per 4-wide block (encoder, decoder) + head
    assert.equal(fp32.ConvTranspose, 1);
    assert.ok((r.record.ops_quantized as Record<string, number>).Conv > 0);
    assert.ok(
      (r.record.left_fp32 as { reason: string }[]).some((s) =>
        /below --min-channels 8/.test(s.reason)
      ),
    );
    assert.ok((r.record.check as { mask_agreement: number }).mask_agreement > 0.9);
  } finally {
    await cleanup(root, calib);
  }
});

Deno.test("weights in external data are read, and the int8 model is self-contained", async () => {
  const model: onnx.IModelProto = decodeModel(unetModel({ width: 2, depth: 1 }));
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer!) {
    const bytes = new Uint8Array(t.rawData!);
    t.externalData = [
      { key: "location", value: "weights.bin" },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(bytes.length) },
    ];
    t.dataLocation = 1;
    t.rawData = new Uint8Array(0);
    blobs.push(bytes);
    offset += bytes.length;
  }
  const weights = new Uint8Array(offset);
  blobs.reduce((o, b) => (weights.set(b, o), o + b.length), 0);
  const root = await makeRepo([{
    name: "ext",
    onnx: encodeModel(model),
    files: { "weights.bin": weights },
  }]);
  const calib = await syntheticFolder();
  const dir = join(root, "ext", "1");
  try {
    const r = await quantizeModelVersion(options(dir, calib));
    const int8 = graphOf(await Deno.readFile(r.path));
    assert.ok(int8.initializer.every((t: onnx.ITensorProto) => !(t.externalData?.length)));
    assert.ok((r.record.check as { mask_agreement: number }).mask_agreement > 0.9);
    // the recorded source hash covers the graph and its weights file
    const graph = await Deno.readFile(join(dir, "model.onnx"));
    const both = new Uint8Array(graph.length + weights.length);
    both.set(graph);
    both.set(weights, graph.length);
    const source = r.record.source as { sha256: string };
    assert.equal(source.sha256, await sha256Hex(both));
    assert.notEqual(source.sha256, await sha256Hex(graph));
    await Deno.remove(join(dir, "weights.bin"));
    await assert.rejects(
      quantizeModelVersion(options(dir, calib)),
      (e: Error) => e instanceof QuantizeError && /weights\.bin/.test(e.message),
    );
  } finally {
    await cleanup(root, calib);
  }
});
