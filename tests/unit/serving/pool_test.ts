import assert from "node:assert/strict";
import { ModelCardSchema } from "../../../src/models/card.ts";
import { StagePool } from "../../../src/serving/pool.ts";
import { ApiError } from "../../../src/errors.ts";
import { encodeV2Json } from "../../../src/server/v2_tensors.ts";
import { type PrepareInput, transferables } from "../../../src/serving/stages.ts";
import { makePng } from "../../helpers/images.ts";
import { shippedModelUrl } from "../../../lib/shipped_models.ts";

const card = ModelCardSchema.parse(
  JSON.parse(
    await Deno.readTextFile(new URL("model.json", shippedModelUrl("isic2017"))),
  ),
);
const job = (width: number, height: number): PrepareInput => ({
  bytes: makePng(width, height, 3),
  mediaType: "image/png",
  decode: { maxPixels: 4_000_000 },
  input: card.input,
  keepPixels: false,
});
const until = async (ok: () => boolean, ms: number) => {
  const end = performance.now() + ms;
  while (!ok() && performance.now() < end) await new Promise((r) => setTimeout(r, 20));
  return ok();
};

Deno.test("with an idle time, pool workers start on first need and exit when idle", async () => {
  const pool = new StagePool(2, 300);
  try {
    assert.equal(pool.live, 0); // nothing resident before a large image arrives
    await pool.prepare(job(64, 48)); // small: on the calling thread
    assert.equal(pool.live, 0);
    assert.equal(pool.inline, 1);
    const prepared = await pool.prepare(job(640, 600)); // over 512²: a worker
    assert.deepEqual(prepared.tensor.dims.slice(0, 2), [1, 3]);
    assert.equal(pool.live, 1);
    assert.ok(await until(() => pool.live === 0, 3_000), `still ${pool.live} live`);
    await pool.prepare(job(640, 600)); // a fresh one when needed again
    assert.equal(pool.live, 1);
  } finally {
    pool.close();
  }
});

Deno.test("with idle time 0, every pool worker starts with the pool and stays", async () => {
  const pool = new StagePool(2, 0);
  try {
    assert.equal(pool.live, 2);
    await pool.prepare(job(640, 600));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pool.live, 2);
  } finally {
    pool.close();
  }
});

/** A JSON V2 request body of a 1×3×h×w tensor of values `i % 7 / 8` (`count` of them). */
function jsonV2(h: number, w: number, count = 3 * h * w): Uint8Array {
  const data = Array.from({ length: count }, (_, i) => (i % 7) / 8);
  return new TextEncoder().encode(JSON.stringify({
    inputs: [{ name: "image", shape: [1, 3, h, w], datatype: "FP32", data }],
  }));
}

Deno.test("a large JSON V2 body is parsed in a worker, the HTTP thread ticking meanwhile; small ones inline", async () => {
  const pool = new StagePool(1, 0);
  try {
    const [h, w] = [512, 640]; // ~2.8 MB of JSON: over INLINE_JSON_BYTES
    let ticks = 0;
    const tick = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    const parsed = await pool.parseV2({ body: jsonV2(h, w), maxElements: 3 * h * w });
    const ms = performance.now() - t0;
    clearInterval(tick);
    const { data, dims } = parsed.inputs[0].tensor;
    assert.deepEqual(dims, [1, 3, h, w]);
    assert.equal(data.length, 3 * h * w);
    assert.equal(data[12345], (12345 % 7) / 8);
    // parsed elsewhere: the timer kept firing (on this thread a parse gives it none)
    assert.ok(ticks >= Math.min(10, ms / 4), `${ticks} ticks in ${ms.toFixed(0)} ms`);
    // a small body stays here, with the same result shape
    const small = await pool.parseV2({ body: jsonV2(4, 4), maxElements: 48 });
    assert.equal(small.inputs[0].tensor.data.length, 48);
  } finally {
    pool.close();
  }
});

Deno.test("a JSON V2 body that lies about its shape is refused 422 in the worker, before all its values are read", async () => {
  const pool = new StagePool(1, 0);
  try {
    const [h, w] = [8, 8];
    // ~1.5 MB of values for a shape of 192
    const body = jsonV2(h, w, 400_000);
    await assert.rejects(
      pool.parseV2({ body, maxElements: 3 * h * w }),
      (err: unknown) => {
        assert.ok(err instanceof ApiError, String(err));
        assert.equal(err.code, "invalid_tensor");
        assert.match(err.message, /more than the shape's 192 values/);
        return true;
      },
    );
  } finally {
    pool.close();
  }
});

Deno.test("a large V2 answer in JSON is written in a worker, the same bytes as on this thread", async () => {
  const pool = new StagePool(1, 0);
  try {
    const tensor = () => {
      const data = Float32Array.from({ length: 600 * 600 }, (_, i) => Math.sin(i) * 3);
      return { data, dims: [1, 1, 600, 600] };
    };
    const meta = { model_name: "m", model_version: "1", id: "x" };
    const here = encodeV2Json({ meta, outputs: [{ name: "logits", tensor: tensor() }] });
    const moved = tensor();
    const there = await pool.encodeV2Json({ meta, outputs: [{ name: "logits", tensor: moved }] });
    assert.equal(moved.data.length, 0, "the tensor moved to the worker (not copied)");
    assert.deepEqual(there, here);
    assert.equal(JSON.parse(new TextDecoder().decode(there)).outputs[0].data.length, 360_000);
  } finally {
    pool.close();
  }
});

Deno.test("a job whose buffers cannot move to a worker is refused, and the worker stays free", async () => {
  const pool = new StagePool(1, 0);
  try {
    const n = 600 * 600;
    const meta = { model_name: "m", model_version: "1" };
    // a value no structured clone takes: postMessage throws
    const unsendable = { ...meta, id: (() => "x") as unknown as string };
    const first = new Float32Array(n);
    await assert.rejects(
      pool.encodeV2Json({
        meta: unsendable,
        outputs: [{ name: "x", tensor: { data: first, dims: [n] } }],
      }),
      /could not be cloned/,
    );
    const data = new Float32Array(n).fill(0.5);
    const bytes = await pool.encodeV2Json({
      meta,
      outputs: [{ name: "x", tensor: { data, dims: [n] } }],
    });
    assert.equal(JSON.parse(new TextDecoder().decode(bytes)).outputs[0].data.length, n);
    assert.equal(pool.live, 1);
  } finally {
    pool.close();
  }
});

Deno.test("transferables finds typed arrays in objects and lists of objects, each buffer once; not in lists of numbers", () => {
  const a = new Float32Array(4), b = new Uint8Array(a.buffer, 4), c = new Uint8Array(8);
  const found = transferables({
    inputs: [{ name: "x", tensor: { data: a } }, { name: "y", tensor: { data: b } }],
    contours: [[1, 2], [3, 4]],
    image: { data: c },
  });
  assert.deepEqual(new Set(found), new Set([a.buffer, c.buffer]));
  assert.equal(found.length, 2);
});
