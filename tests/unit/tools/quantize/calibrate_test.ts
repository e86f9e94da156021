import assert from "node:assert/strict";
import { join } from "node:path";
import { encode as encodePng } from "fast-png";
import { nativeEngine } from "../../../../src/engines/onnx_native.ts";
import { InputSpecSchema } from "../../../../src/models/card.ts";
import { GraphBuilder, seededRandom } from "../../../../lib/onnx_builder.ts";
import { decodeModel } from "../../../../src/onnx/proto.ts";
import { calibrate } from "../../../../tools/quantize/calibrate.ts";
import {
  calibrationInputs,
  scanCalibrationFolder,
} from "../../../../tools/quantize/calibration_images.ts";
import { calibrationRange } from "../../../../tools/quantize/ranges.ts";
import { TensorStats } from "../../../../tools/quantize/statistics.ts";

const spec = InputSpecSchema.parse({
  channels: 1,
  mean: [0.5],
  std: [0.25],
  resize: null,
  pad_multiple: 16,
});

/** image → Relu → Identity → logits */
function reluModel() {
  const g = new GraphBuilder(1);
  const x = g.input("image", [1, 1, "H", "W"]);
  const r = g.relu(x);
  g.output(r, "logits", [1, 1, "H", "W"]);
  return { model: decodeModel(g.build()), relu: r };
}

/** A grey PNG whose pixels run through the given values (row-major, repeated). */
function greyPng(width: number, height: number, values: number[]): Uint8Array {
  const data = Uint8Array.from({ length: width * height }, (_, i) => values[i % values.length]);
  return encodePng({ width, height, data, channels: 1, depth: 8 });
}

async function folderOf(files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-calib-" });
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === "string") await Deno.writeTextFile(join(dir, name), content);
    else await Deno.writeFile(join(dir, name), content);
  }
  return dir;
}

Deno.test("calibration of a known image through Identity/ReLU gives the known min/max", async () => {
  // pixels 51..204 → (p/255 − 0.5)/0.25 ∈ [−1.2, 1.2]; 32×16 needs no resize or padding
  const dir = await folderOf({
    "a.png": greyPng(32, 16, [51, 128, 204]),
    "b.png": greyPng(32, 16, [102, 153]),
  });
  try {
    const set = await scanCalibrationFolder(dir, 10);
    assert.equal(set.files.length, 2);
    const { model, relu } = reluModel();
    const inputs = async function* () {
      for await (const { file, tensor } of calibrationInputs(set, spec)) {
        yield { file, feeds: { image: tensor } };
      }
    };
    const ranges = await calibrate(model, ["image", relu], inputs, {
      engine: nativeEngine,
      method: "minmax",
      threads: 1,
    });
    const expect = (p: number) => (p / 255 - 0.5) / 0.25;
    const [imgLo, imgHi] = ranges.get("image")!;
    const [reluLo, reluHi] = ranges.get(relu)!;
    assert.ok(Math.abs(imgLo - expect(51)) < 1e-6, `image min ${imgLo}`);
    assert.ok(Math.abs(imgHi - expect(204)) < 1e-6, `image max ${imgHi}`);
    assert.equal(reluLo, 0);
    assert.ok(Math.abs(reluHi - expect(204)) < 1e-6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("percentile and entropy clip a lone outlier that minmax keeps", () => {
  const r = seededRandom(4);
  const data = Float32Array.from({ length: 200_000 }, () => r() * 2 - 1);
  data[123] = 100;
  const stats = new TensorStats();
  stats.observeRange(data);
  assert.deepEqual(calibrationRange(stats, "minmax"), [stats.min, 100]);
  stats.startHistograms("signed");
  stats.startHistograms("absolute");
  stats.observeHistogram(data);
  const [plo, phi] = calibrationRange(stats, "percentile", 99.99);
  assert.ok(plo >= stats.min && plo < -0.9, `percentile low ${plo}`);
  assert.ok(phi > 0.9 && phi < 2, `percentile high ${phi}`);
  const [elo, ehi] = calibrationRange(stats, "entropy");
  assert.ok(ehi < 10 && ehi > 0.5, `entropy high ${ehi}`);
  assert.ok(elo < -0.5 && elo >= stats.min);
});

Deno.test("calibration folder: undecodable files are skipped with a warning, none usable is an error", async () => {
  const warnings: string[] = [];
  const mixed = await folderOf({
    "good.png": greyPng(16, 16, [10]),
    "notes.txt": "not an image",
    "bad.png": new Uint8Array([0x89, 0x50, 1, 2]),
  });
  const empty = await folderOf({});
  const junk = await folderOf({ "x.png": "garbage", "y.jpg": new Uint8Array(10) });
  try {
    const set = await scanCalibrationFolder(mixed, 10, (w) => warnings.push(w));
    assert.deepEqual(set.files.map((f) => f.split("/").pop()), ["good.png"]);
    assert.equal(set.skipped.length, 2);
    assert.equal(warnings.length, 2);
    assert.match(warnings.join("\n"), /notes\.txt/);
    await assert.rejects(scanCalibrationFolder(empty, 10), /holds no files/);
    await assert.rejects(scanCalibrationFolder(junk, 10), /none of them a decodable PNG or JPEG/);
    await assert.rejects(
      scanCalibrationFolder(join(empty, "missing"), 10),
      /cannot read calibration folder/,
    );
  } finally {
    for (const d of [mixed, empty, junk]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("max-images picks evenly and the folder hash follows the images used", async () => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 6; i++) files[`${i}.png`] = greyPng(16, 16, [i * 40]);
  const dir = await folderOf(files);
  try {
    const all = await scanCalibrationFolder(dir, 100);
    const three = await scanCalibrationFolder(dir, 3);
    assert.deepEqual(three.files.map((f) => f.split("/").pop()), ["0.png", "2.png", "4.png"]);
    assert.notEqual(all.sha256, three.sha256);
    assert.equal((await scanCalibrationFolder(dir, 3)).sha256, three.sha256);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an undecodable pick is replaced by a later file, and the rest is not decoded", async () => {
  const files: Record<string, Uint8Array | string> = {};
  for (let i = 0; i < 5; i++) files[`${i}.png`] = greyPng(16, 16, [i * 40]);
  files["2.png"] = "broken";
  const dir = await folderOf(files);
  try {
    const warnings: string[] = [];
    const set = await scanCalibrationFolder(dir, 2, (w) => warnings.push(w));
    assert.deepEqual(set.files.map((f) => f.split("/").pop()), ["0.png", "1.png"]);
    assert.deepEqual(set.skipped.map((s) => s.file), ["2.png"]);
    assert.equal(warnings.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
