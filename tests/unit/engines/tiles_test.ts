import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import type { Tensor } from "../../../src/engines/engine.ts";
import {
  axisSegments,
  cropNchw,
  planTiles,
  runTiled,
  runWithTiles,
} from "../../../src/engines/tiles.ts";
import { inspectModel } from "../../../src/onnx/inspect.ts";
import { shippedModelUrl } from "../../../lib/shipped_models.ts";

Deno.test("axis segments: kept parts tile the axis, each read span reaches `halo` past its kept part", () => {
  for (
    const [size, tile, halo] of [[1600, 1024, 112], [640, 480, 112], [2048, 512, 128], [
      480,
      480,
      112,
    ]]
  ) {
    const segs = axisSegments(size, tile, halo);
    assert.equal(segs[0].keepStart, 0);
    assert.equal(segs.at(-1)!.keepEnd, size);
    segs.forEach((s, i) => {
      if (i > 0) assert.equal(s.keepStart, segs[i - 1].keepEnd, "kept parts meet");
      assert.equal(s.end - s.start, Math.min(tile, size), `tile ${s.start}..${s.end}: one shape`);
      assert.ok(s.start === 0 || s.keepStart - s.start >= halo);
      assert.ok(s.end === size || s.end - s.keepEnd >= halo);
    });
  }
  assert.deepEqual(axisSegments(1600, 1024, 112).map((s) => [s.start, s.end]), [[0, 1024], [
    576,
    1600,
  ]]);
});

Deno.test("tile plans: only over the limit, on the net's step, with room inside the margins", () => {
  const field = { radius: 107, align: 16 };
  assert.equal(planTiles(1024, 1024, field, 1024 * 1024), null, "fits");
  assert.equal(planTiles(1600, 1600, null, 1024 * 1024), null, "model cannot be tiled");
  assert.equal(planTiles(1600, 1608, field, 1024 * 1024), null, "width not a multiple of 16");
  assert.equal(
    planTiles(1600, 1600, field, 224 * 224),
    null,
    "a 224 tile has no room inside 2×112",
  );
  assert.equal(planTiles(1600, 1600, field, 0), null, "0 turns tiling off");
  const plan = planTiles(1600, 1600, field, 1024 * 1024)!;
  assert.equal(plan.rows.length * plan.cols.length, 4);
});

Deno.test("crop copies an NCHW window", () => {
  const t: Tensor = {
    data: Float32Array.from({ length: 2 * 4 * 5 }, (_, i) => i),
    dims: [1, 2, 4, 5],
  };
  const c = cropNchw(t, [1, 3], [2, 4]);
  assert.deepEqual(c.dims, [1, 2, 2, 2]);
  assert.deepEqual([...c.data], [7, 8, 12, 13, 27, 28, 32, 33]);
});

const modelUrl = new URL("model.onnx", shippedModelUrl("isic2017"));

/** The shipped student on onnxruntime-node, and a 640×768 input of noise. */
async function student() {
  const bytes = Deno.readFileSync(modelUrl);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const run = async (feeds: Record<string, Tensor>) => {
    const input: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) {
      input[k] = new ort.Tensor("float32", t.data, t.dims);
    }
    const out = await session.run(input);
    return Object.fromEntries(
      Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: [...t.dims] }]),
    ) as Record<string, Tensor>;
  };
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 4 - 2;
  const image: Tensor = {
    data: Float32Array.from({ length: 3 * 640 * 768 }, noise),
    dims: [1, 3, 640, 768],
  };
  return { session, run, image, field: inspectModel(bytes).receptiveField! };
}

const maxDiff = (a: Tensor, b: Tensor) =>
  a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i])), 0);

Deno.test("overlap tiles give the whole run's output; margins below the receptive field do not", async () => {
  const { session, run, image, field } = await student();
  try {
    const whole = (await run({ image })).logits;
    const tile = 480; // 480² tiles with 112 px margins: 2 rows × 3 columns
    const plan = planTiles(640, 768, field, tile * tile)!;
    assert.equal(plan.rows.length * plan.cols.length, 6);
    const tiled = (await runWithTiles({ run }, { image }, field, tile * tile)).logits;
    assert.deepEqual(tiled.dims, whole.dims);
    assert.ok(maxDiff(tiled, whole) < 1e-4, `tiled differs by ${maxDiff(tiled, whole)}`);
    // the same cut with a 32-pixel margin (the receptive field is 107): visibly wrong
    const short = { rows: axisSegments(640, 480, 32), cols: axisSegments(768, 480, 32) };
    const wrong = (await runTiled(run, "image", image, short)).logits;
    assert.ok(
      maxDiff(wrong, whole) > 1e-2,
      `a short margin differs by only ${maxDiff(wrong, whole)}`,
    );
  } finally {
    await session.release();
  }
});

Deno.test("a tiled run starts no further tile once its signal aborts, and throws the signal's reason", async () => {
  const field = { radius: 107, align: 16 };
  const plan = planTiles(1600, 1600, field, 512 * 512)!;
  const tiles = plan.rows.length * plan.cols.length;
  assert.ok(tiles > 4, `${tiles} tiles`);
  const input: Tensor = { data: new Float32Array(1600 * 1600), dims: [1, 1, 1600, 1600] };
  const deadline = new AbortController();
  const reason = new Error("deadline passed");
  let ran = 0;
  const identity = (feeds: Record<string, Tensor>) => {
    ran++;
    if (ran === 2) deadline.abort(reason); // during the second tile
    return Promise.resolve({ out: feeds.x });
  };
  await assert.rejects(runTiled(identity, "x", input, plan, deadline.signal), (e) => e === reason);
  assert.equal(ran, 2, `${ran} of ${tiles} tiles ran`);
  // without a signal (or one that stays quiet) every tile runs
  ran = -Infinity;
  let all = 0;
  await runTiled((f) => (all++, Promise.resolve({ out: f.x })), "x", input, plan);
  assert.equal(all, tiles);
});
