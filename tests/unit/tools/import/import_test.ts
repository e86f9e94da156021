/**
 * `deno task import`: the normalisation chosen from labelled val images, external data
 * rewritten to `model.onnx.data`, card fields from the graph, and refusals.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel } from "../../../../mod.ts";
import { GraphBuilder, unetModel } from "../../../../lib/onnx_builder.ts";
import { inspectModel } from "../../../../src/onnx/inspect.ts";
import { DataType, decodeModel, encodeModel } from "../../../../src/onnx/proto.ts";
import { parseImportArgs, UsageError } from "../../../../tools/import/args.ts";
import { ImportError, readGraphFacts } from "../../../../tools/import/graph_facts.ts";
import { importModel } from "../../../../tools/import/import.ts";
import { sha256Hex } from "../../../../src/models/hash.ts";
import { shippedVersion } from "../../../../lib/shipped_models.ts";

const ROOT = new URL("../../../../", import.meta.url).pathname;
const KVASIR = join(ROOT, "models/kvasir-seg");
const TORCH = join(ROOT, "tests/fixtures/torch_external");

type Stats = { mean: number[]; std: number[] };
type ScoredCandidate = { normalisation: string; dice_by_threshold: Record<string, number> };

/**
 * The shipped student, changed to expect another input normalisation: a Mul and an Add in
 * front of its first layer map `(x - to.mean) / to.std` back to what it was trained on.
 */
function bakeNormalisation(bytes: Uint8Array, trained: Stats, to: Stats): Uint8Array {
  const model = decodeModel(bytes);
  const g = model.graph!;
  const input = g.input![0].name!;
  const inner = `${input}_as_trained`;
  for (const n of g.node!) n.input = n.input!.map((v) => v === input ? inner : v);
  const c = to.mean.length;
  const scale = new Float32Array(c), bias = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = to.std[i] / trained.std[i];
    bias[i] = (to.mean[i] - trained.mean[i]) / trained.std[i];
  }
  const tensor = (name: string, v: Float32Array) => ({
    name,
    dims: [1, c, 1, 1],
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(v.buffer),
  });
  g.initializer!.push(tensor("renorm_scale", scale), tensor("renorm_bias", bias));
  g.node!.unshift(
    {
      opType: "Mul",
      input: [input, "renorm_scale"],
      output: ["renorm_scaled"],
      name: "renorm_mul",
    },
    { opType: "Add", input: ["renorm_scaled", "renorm_bias"], output: [inner], name: "renorm_add" },
  );
  return encodeModel(model);
}

/** The shipped kvasir-seg samples as a `val` split. */
async function sampleValSet(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tinyunet-import-data-" });
  await Deno.mkdir(join(root, "val", "images"), { recursive: true });
  await Deno.mkdir(join(root, "val", "masks"), { recursive: true });
  for await (const e of Deno.readDir(join(KVASIR, "samples"))) {
    const m = /^(.*)_mask\.png$/.exec(e.name);
    if (!m) continue;
    await Deno.copyFile(join(KVASIR, "samples", e.name), join(root, "val", "masks", `${m[1]}.png`));
    const image = [".png", ".jpg"].map((ext) => `${m[1]}${ext}`);
    for (const f of image) {
      await Deno.copyFile(join(KVASIR, "samples", f), join(root, "val", "images", f)).catch(
        () => {},
      );
    }
  }
  return root;
}

function args(source: string, repo: string, extra: string[]) {
  const parsed = parseImportArgs([source, "--repo", repo, ...extra]);
  assert.ok(parsed);
  return parsed;
}

Deno.test("import picks the normalisation a model was made for from labelled val images (ImageNet, then [-1,1])", async () => {
  const shipped = join(KVASIR, shippedVersion("kvasir-seg"));
  const card = JSON.parse(await Deno.readTextFile(join(shipped, "model.json")));
  const student = await Deno.readFile(join(shipped, "model.onnx"));
  const data = await sampleValSet();
  const repo = await Deno.makeTempDir({ prefix: "tinyunet-import-repo-" });
  try {
    const cases: [string, Stats][] = [
      ["imagenet", { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }],
      ["symmetric", { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }],
    ];
    for (const [preset, stats] of cases) {
      const source = join(repo, `polyp-${preset}.onnx`);
      await Deno.writeFile(source, bakeNormalisation(student, card.input, stats));
      const lines: string[] = [];
      const result = await importModel(
        args(source, repo, [
          "--name",
          "polyp",
          "--data",
          data,
          "--label",
          "polyp",
          "--modalities",
          "es",
        ]),
        (l) => lines.push(l),
      );
      const written = JSON.parse(await Deno.readTextFile(join(result.dir, "model.json")));
      const choice = written.metrics.val_import_choice;
      assert.equal(choice.chosen.normalisation, preset, lines.join("\n"));
      assert.deepEqual(written.input.mean, stats.mean);
      assert.deepEqual(written.input.std, stats.std);
      assert.equal(written.output.kind, "logits"); // raw Conv output: never read as probabilities
      assert.equal(choice.candidates.length, 5);
      const others = (choice.candidates as ScoredCandidate[]).filter((c) =>
        c.normalisation !== preset
      );
      const best = (c: ScoredCandidate) => Math.max(...Object.values(c.dice_by_threshold));
      assert.ok(others.every((c) => best(c) < choice.chosen.dice), lines.join("\n"));
      assert.ok(!result.warnings.some((w) => /scored low/.test(w)), result.warnings.join("\n"));
      assert.equal(written.label, "polyp");
      assert.deepEqual(written.modalities, ["ES"]);
      assert.equal(written.algorithm.name, "polyp");
      assert.equal(written.trained, true);
      assert.match(lines.join("\n"), /^normalisation .*\n(.*\n)*imagenet .*\nunit /m);
      // the version it wrote loads and serves as is
      const model = await loadModel(result.dir, { engine: "native" });
      assert.equal(model.card.input.mean[0], stats.mean[0]);
      await model.unload();
    }
    const versions = [];
    for await (const e of Deno.readDir(join(repo, "polyp"))) versions.push(e.name);
    assert.deepEqual(versions.sort(), ["1", "2"]); // the next free version each time
    assert.ok(![...Deno.readDirSync(repo)].some((e) => e.name.startsWith(".import-")));
  } finally {
    await Deno.remove(data, { recursive: true });
    await Deno.remove(repo, { recursive: true });
  }
});

Deno.test("import warns when no candidate beats marking every pixel (an untrained model)", async () => {
  const data = await sampleValSet();
  const repo = await Deno.makeTempDir({ prefix: "tinyunet-import-repo-" });
  try {
    const source = join(repo, "untrained.onnx");
    await Deno.writeFile(source, unetModel({ width: 2, depth: 2, fixedSize: [64, 80], seed: 5 }));
    const lines: string[] = [];
    const result = await importModel(
      args(source, repo, ["--name", "untrained", "--data", data]),
      (l) => lines.push(l),
    );
    assert.equal(result.warnings.length, 1, lines.join("\n"));
    assert.match(result.warnings[0], /every candidate scored low: .*marking every pixel/);
    assert.match(lines.join("\n"), /^warning: every candidate scored low/m);
    const card = JSON.parse(await Deno.readTextFile(join(result.dir, "model.json")));
    assert.deepEqual([card.input.height, card.input.width, card.input.resize], [64, 80, null]);
    assert.ok(card.metrics.val_import_choice.all_foreground_dice > 0);
  } finally {
    await Deno.remove(data, { recursive: true });
    await Deno.remove(repo, { recursive: true });
  }
});

Deno.test("import of a PyTorch external-data export writes model.onnx + model.onnx.data that serve PyTorch's numbers", async () => {
  const work = await Deno.makeTempDir({ prefix: "tinyunet-import-ext-" });
  try {
    // the export as PyTorch named it: ref-export.onnx + ref-export.onnx.data
    const model = decodeModel(await Deno.readFile(join(TORCH, "tiny/1/model.onnx")));
    for (const t of model.graph?.initializer ?? []) {
      for (const e of t.externalData ?? []) {
        if (e.key === "location") e.value = "ref-export.onnx.data";
      }
    }
    await Deno.mkdir(join(work, "export"));
    await Deno.writeFile(join(work, "export", "ref-export.onnx"), encodeModel(model));
    await Deno.copyFile(
      join(TORCH, "tiny/1/model.onnx.data"),
      join(work, "export", "ref-export.onnx.data"),
    );
    const repo = join(work, "repo");
    const result = await importModel(
      args(join(work, "export", "ref-export.onnx"), repo, [
        "--name",
        "tiny",
        "--normalize",
        "symmetric",
      ]),
    );
    assert.equal(result.dir, join(repo, "tiny", "1"));
    const graph = await Deno.readFile(join(result.dir, "model.onnx"));
    assert.deepEqual(inspectModel(graph).externalData, ["model.onnx.data"]);
    const data = await Deno.readFile(join(result.dir, "model.onnx.data"));
    const both = new Uint8Array(graph.length + data.length);
    both.set(graph);
    both.set(data, graph.length);
    const card = JSON.parse(await Deno.readTextFile(join(result.dir, "model.json")));
    assert.equal(card.import.sha256, await sha256Hex(both));
    assert.deepEqual(card.import.source_external_data, ["ref-export.onnx.data"]);
    assert.equal(card.input.channels, 1);
    assert.equal(card.input.height, null);
    assert.equal(card.output.kind, "logits");
    assert.match(card.import.output_kind.from, /Conv/);

    const served = await loadModel(result.dir, { engine: "native" });
    try {
      const n = 32 * 48;
      const x = new Float32Array(n).map((_, i) => -1 + (2 * i) / (n - 1));
      const { outputs } = await served.infer({ image: { data: x, dims: [1, 1, 32, 48] } });
      const expected = JSON.parse(await Deno.readTextFile(join(TORCH, "expected.json")));
      const out = outputs.logits.data;
      const diff = Math.max(...expected.output.map((v: number, i: number) => Math.abs(v - out[i])));
      assert.ok(diff <= 1e-4, `differs from PyTorch by ${diff}`);
    } finally {
      await served.unload();
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("import refuses what the server could not run, with the reason, and leaves nothing behind", async () => {
  const work = await Deno.makeTempDir({ prefix: "tinyunet-import-refuse-" });
  const repo = join(work, "repo");
  try {
    const two = new GraphBuilder(1);
    const a = two.input("image", [1, 3, "H", "W"]);
    const b = two.input("prior", [1, 3, "H", "W"]);
    two.output(two.conv(two.node("Add", [a, b]), 3, 1, 1), "logits", [1, 1, "H", "W"]);
    await Deno.writeFile(join(work, "two.onnx"), two.build());
    await assert.rejects(
      importModel(args(join(work, "two.onnx"), repo, ["--name", "two", "--normalize", "unit"])),
      (e: Error) =>
        e instanceof ImportError &&
        /2 inputs \("image", "prior"\); the server feeds exactly one image tensor/.test(e.message),
    );

    const half = decodeModel(unetModel({ width: 2, depth: 1 }));
    half.graph!.input![0].type!.tensorType!.elemType = 10;
    await Deno.writeFile(join(work, "half.onnx"), encodeModel(half));
    await assert.rejects(
      readGraphFacts(join(work, "half.onnx")),
      /is float16; the server feeds float32/,
    );

    const twoClass = new GraphBuilder(2);
    const x = twoClass.input("image", [1, 3, "H", "W"]);
    twoClass.output(twoClass.conv(x, 3, 2, 1), "scores", [1, 2, "H", "W"]);
    await Deno.writeFile(join(work, "twoclass.onnx"), twoClass.build());
    await assert.rejects(
      readGraphFacts(join(work, "twoclass.onnx")),
      /has 2 channels; the server reads one/,
    );

    const sig = new GraphBuilder(3);
    const s = sig.input("pixels", [1, 1, 128, 96]);
    sig.output(sig.node("Sigmoid", [sig.conv(sig.maxPool(s), 1, 1, 1)]), "prob", [1, 1, 64, 48]);
    await Deno.writeFile(join(work, "sig.onnx"), sig.build());
    const facts = await readGraphFacts(join(work, "sig.onnx"));
    assert.equal(facts.outputKind, "probabilities");
    assert.match(facts.outputKindReason, /Sigmoid/);
    assert.deepEqual([facts.inputName, facts.channels, facts.height, facts.width], [
      "pixels",
      1,
      128,
      96,
    ]);

    // an operator no engine knows: refused at the test load, the staging folder removed
    const odd = new GraphBuilder(4);
    const o = odd.input("image", [1, 1, "H", "W"]);
    odd.output(odd.node("NoSuchOperator", [o]), "logits", [1, 1, "H", "W"]);
    await Deno.writeFile(join(work, "odd.onnx"), odd.build());
    await assert.rejects(
      importModel(args(join(work, "odd.onnx"), repo, ["--name", "odd", "--normalize", "unit"])),
      /the native engine cannot load it: .*NoSuchOperator/s,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(repo)), []);

    await Deno.writeFile(join(work, "junk.onnx"), new TextEncoder().encode("not a model"));
    await assert.rejects(readGraphFacts(join(work, "junk.onnx")), /not an ONNX model/);
    assert.throws(() => parseImportArgs([join(work, "two.onnx"), "--name", "x"]), UsageError);
    assert.throws(
      () =>
        parseImportArgs(["m.onnx", "--name", "x", "--normalize", "unit", "--modalities", "U/S"]),
      /not a DICOM Modality code/,
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("deno task import exits 1 with the reason for a multi-input model", async () => {
  const work = await Deno.makeTempDir({ prefix: "tinyunet-import-cli-" });
  try {
    const g = new GraphBuilder(1);
    const a = g.input("a", [1, 1, 16, 16]);
    const b = g.input("b", [1, 1, 16, 16]);
    g.output(g.node("Add", [a, b]), "logits", [1, 1, 16, 16]);
    await Deno.writeFile(join(work, "m.onnx"), g.build());
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "tools/import/main.ts"),
        join(work, "m.onnx"),
        "--name",
        "m",
        "--repo",
        join(work, "repo"),
        "--normalize",
        "unit",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.match(new TextDecoder().decode(out.stderr), /refused: .*2 inputs/);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
