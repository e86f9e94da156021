/**
 * A server on the tfjs-wasm engine segments like one on the native engine: same mask PNG
 * and same JSON summary for a real image, with the engine named in the response.
 */
import assert from "node:assert/strict";
import { fixtureServer } from "../../helpers/model_repo.ts";
import { ISIC_SAMPLE, readSample } from "../../helpers/images.ts";

const models = [{ name: "lesion", net: { width: 4, depth: 3, batchNorm: true, seed: 12 } }];

async function segment(engine: "native" | "tfjs-wasm", image: Uint8Array) {
  await using s = await fixtureServer(models, { engine });
  const init = () => ({
    method: "POST",
    headers: { "content-type": "image/png" },
    body: image as Uint8Array<ArrayBuffer>,
  });
  const png = await s.app.request("/v1/segment", init());
  assert.equal(png.status, 200, await png.clone().text());
  const json = await s.app.request("/v1/segment?format=json", init());
  assert.equal(json.status, 200);
  const info = await (await s.app.request("/v1/models/lesion")).json();
  return { mask: new Uint8Array(await png.arrayBuffer()), body: await json.json(), info };
}

Deno.test("a tfjs-wasm server returns the native server's mask for a real ISIC image", async () => {
  const image = await readSample(ISIC_SAMPLE);
  const native = await segment("native", image);
  const tfjs = await segment("tfjs-wasm", image);
  assert.equal(native.body.engine, "native");
  assert.equal(tfjs.body.engine, "tfjs-wasm");
  assert.ok(
    native.body.pixel_area > 0 && native.body.pixel_area < native.body.width * native.body.height,
    "the mask is not trivial",
  );
  assert.deepEqual(tfjs.mask, native.mask);
  for (const key of ["pixel_area", "bbox", "rle", "width", "height"]) {
    assert.deepEqual(tfjs.body[key], native.body[key], key);
  }
  assert.match(JSON.stringify(tfjs.info), /tfjs-wasm/);
});
