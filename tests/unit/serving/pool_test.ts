import assert from "node:assert/strict";
import { ModelCardSchema } from "../../../src/models/card.ts";
import { StagePool } from "../../../src/serving/pool.ts";
import type { PrepareInput } from "../../../src/serving/stages.ts";
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
