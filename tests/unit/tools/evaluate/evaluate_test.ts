import assert from "node:assert/strict";
import { join } from "node:path";
import { encode as encodePng } from "fast-png";
import { GraphBuilder } from "../../../../lib/onnx_builder.ts";
import { ISIC_SAMPLE } from "../../../helpers/images.ts";
import { makeRepo } from "../../../helpers/model_repo.ts";
import { parseEvaluateArgs } from "../../../../tools/evaluate/args.ts";
import { runEvaluation } from "../../../../tools/evaluate/run.ts";
import {
  DEFAULT_QUANTIZE_OPTIONS,
  quantizeModelVersion,
} from "../../../../tools/quantize/quantize.ts";

/** logits = pixel − 0.5 (a 1×1 conv, weight 1, bias −0.5): foreground = pixels brighter than 127.5. */
function thresholdModel(): Uint8Array {
  const g = new GraphBuilder(1);
  const x = g.input("image", [1, 1, "H", "W"]);
  const w = g.constant(Float32Array.of(1), [1, 1, 1, 1]);
  const b = g.constant(Float32Array.of(-0.5), [1], "b");
  g.output(g.node("Conv", [x, w, b], [{ name: "kernel_shape", type: 7, ints: [1, 1] }]), "logits", [
    1,
    1,
    "H",
    "W",
  ]);
  return g.build();
}

const CARD = {
  input: {
    name: "image",
    channels: 1,
    height: null,
    width: null,
    resize: null,
    pad_multiple: 1,
    mean: [0],
    std: [1],
  },
};

function grey(width: number, height: number, on: (x: number, y: number) => boolean): Uint8Array {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[y * width + x] = on(x, y) ? 255 : 0;
    }
  }
  return encodePng({ width, height, data, channels: 1, depth: 8 });
}

/**
 * Two 4×4 images. "a": the left half is bright, the truth is the top half → tp 4, fp 4,
 * fn 4: Dice 8/16, IoU 4/12, precision 4/8, recall 4/8. "b": prediction = truth → all 1.
 */
async function tinySet(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tinyunet-eval-" });
  for (const d of ["test/images", "test/masks"]) {
    await Deno.mkdir(join(root, d), { recursive: true });
  }
  await Deno.writeFile(join(root, "test/images/a.png"), grey(4, 4, (x) => x < 2));
  await Deno.writeFile(join(root, "test/masks/a.png"), grey(4, 4, (_, y) => y < 2));
  await Deno.writeFile(join(root, "test/images/b.png"), grey(4, 4, (x, y) => x === 1 && y === 2));
  await Deno.writeFile(join(root, "test/masks/b.png"), grey(4, 4, (x, y) => x === 1 && y === 2));
  return root;
}

const args = (model: string, data: string, extra: string[] = []) =>
  parseEvaluateArgs(["--model", model, "--data", data, "--quiet", ...extra])!;

Deno.test("evaluate's Dice, IoU, precision, recall equal the hand-computed values, and go into the card and CSV", async () => {
  const repo = await makeRepo([{
    name: "tiny",
    onnx: thresholdModel(),
    net: { channels: 1 },
    card: { ...CARD, metrics: { test: { dice: 0.7 } } },
  }]);
  const data = await tinySet();
  const csv = join(data, "out.csv");
  const dir = join(repo, "tiny", "1");
  try {
    const s = await runEvaluation(args(dir, data, ["--csv", csv, "--write-card"]));
    const dice = (8 / 16 + 1) / 2, iou = (4 / 12 + 1) / 2;
    assert.equal(s.n, 2);
    assert.equal(s.dice, Math.round(dice * 1e4) / 1e4);
    assert.equal(s.iou, Math.round(iou * 1e4) / 1e4);
    assert.equal(s.precision, 0.75);
    assert.equal(s.recall, 0.75);
    assert.deepEqual(s.reference, { key: "metrics.test", dice: 0.7, dice_difference: 0.05 });
    const card = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    const m = card.metrics.test_deployed_fp32;
    assert.equal(m.dice, s.dice);
    assert.equal(m.engine, "native");
    assert.equal(m.n, 2);
    assert.match(m.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(card.metrics.test.dice, 0.7, "other metrics are kept");
    const lines = (await Deno.readTextFile(csv)).trim().split("\n");
    assert.equal(lines[0], "id,dice,iou,hd95,precision,recall");
    assert.ok(lines[1].startsWith("a,0.500000,0.333333,"));
    assert.equal(lines[2], "b,1.000000,1.000000,0.000000,1.000000,1.000000");
  } finally {
    await Deno.remove(repo, { recursive: true });
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("evaluate runs the int8 file named by path, and refuses files the card does not list", async () => {
  const repo = await makeRepo([{
    name: "tiny",
    onnx: thresholdModel(),
    net: { channels: 1 },
    card: CARD,
  }]);
  const data = await tinySet();
  const dir = join(repo, "tiny", "1");
  try {
    await assert.rejects(
      runEvaluation(args(dir, data, ["--precision", "int8"])),
      /has no int8 model/,
    );
    await assert.rejects(
      runEvaluation(args(join(dir, "other.onnx"), data)),
      /not one of the files the card/,
    );
    await quantizeModelVersion({
      ...DEFAULT_QUANTIZE_OPTIONS,
      modelDir: dir,
      calibFolder: join(data, "test/images"),
      threads: 1,
    });
    const s = await runEvaluation(args(join(dir, "model.int8.onnx"), data, ["--write-card"]));
    assert.equal(s.key, "test_deployed_int8");
    assert.equal(s.file, "model.int8.onnx");
    assert.ok((s.dice as number) > 0.7, `int8 dice ${s.dice}`); // fp32 is 0.75 on this set
    const card = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assert.equal(card.metrics.test_deployed_int8.dice, s.dice);
  } finally {
    await Deno.remove(repo, { recursive: true });
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("an int8 file made from an older fp32 model is not recorded", async () => {
  const repo = await makeRepo([{ name: "lesion", net: { width: 2, depth: 1 } }]);
  const data = await tinySet();
  const calib = await Deno.makeTempDir();
  await Deno.copyFile(ISIC_SAMPLE, join(calib, "isic.png"));
  const dir = join(repo, "lesion", "1");
  try {
    await quantizeModelVersion({
      ...DEFAULT_QUANTIZE_OPTIONS,
      modelDir: dir,
      calibFolder: calib,
      threads: 1,
    });
    // the trainer re-exports model.onnx
    const { unetModel } = await import("../../../../lib/onnx_builder.ts");
    await Deno.writeFile(join(dir, "model.onnx"), unetModel({ width: 2, depth: 1, seed: 99 }));
    await assert.rejects(
      runEvaluation(args(dir, data, ["--precision", "int8", "--write-card"])),
      /quantised from a different model\.onnx/,
    );
    const warnings: string[] = [];
    await runEvaluation(args(dir, data, ["--precision", "int8"]), (l) => warnings.push(l));
    assert.ok(warnings.some((w) => /warning: .*run deno task quantize again/.test(w)));
  } finally {
    for (const d of [repo, data, calib]) await Deno.remove(d, { recursive: true });
  }
});

/**
 * A val split of one 8×8 image: a bright 3×3 square and a bright speck. `speckIsTrue`
 * decides whether the truth has the speck too.
 */
async function speckSet(speckIsTrue: boolean): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tinyunet-eval-" });
  for (const s of ["val", "test"]) {
    for (const d of ["images", "masks"]) await Deno.mkdir(join(root, s, d), { recursive: true });
  }
  const square = (x: number, y: number) => x >= 1 && x < 4 && y >= 1 && y < 4;
  const speck = (x: number, y: number) => x === 6 && y === 6;
  await Deno.writeFile(
    join(root, "val/images/a.png"),
    grey(8, 8, (x, y) => square(x, y) || speck(x, y)),
  );
  await Deno.writeFile(
    join(root, "val/masks/a.png"),
    grey(8, 8, (x, y) => square(x, y) || (speckIsTrue && speck(x, y))),
  );
  // test would say the opposite: the choice must not look at it
  await Deno.writeFile(
    join(root, "test/images/a.png"),
    grey(8, 8, (x, y) => square(x, y) || speck(x, y)),
  );
  await Deno.writeFile(
    join(root, "test/masks/a.png"),
    grey(8, 8, (x, y) => square(x, y) || (!speckIsTrue && speck(x, y))),
  );
  return root;
}

Deno.test("--choose-postprocess keeps the largest region only when it raises the val Dice, and writes the card", async () => {
  for (const speckIsTrue of [false, true]) {
    const repo = await makeRepo([{
      name: "tiny",
      onnx: thresholdModel(),
      net: { channels: 1 },
      card: CARD,
    }]);
    const data = await speckSet(speckIsTrue);
    const dir = join(repo, "tiny", "1");
    try {
      const s = await runEvaluation(args(dir, data, ["--choose-postprocess", "--write-card"]));
      const raw = s.raw as { dice: number }, cleaned = s.largest_component as { dice: number };
      if (speckIsTrue) {
        assert.deepEqual([raw.dice, cleaned.dice], [1, Math.round((18 / 19) * 1e4) / 1e4]);
      } else {
        assert.deepEqual([raw.dice, cleaned.dice], [Math.round((18 / 19) * 1e4) / 1e4, 1]);
      }
      const card = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
      assert.deepEqual(card.postprocess, { largest_component: !speckIsTrue });
      assert.deepEqual(card.metrics.val_postprocess_choice.chosen, {
        largest_component: !speckIsTrue,
      });
      // the served (card) evaluation applies the val choice; test is built to disagree with val,
      // so a choice made on test would score 1 here
      const test = await runEvaluation(args(dir, data));
      assert.equal(test.dice, Math.round((18 / 19) * 1e4) / 1e4);
    } finally {
      await Deno.remove(repo, { recursive: true });
      await Deno.remove(data, { recursive: true });
    }
  }
});
