import assert from "node:assert/strict";
import type { Tensor } from "../../src/engines/engine.ts";
import type { DecodedImage } from "../../src/imaging/image.ts";
import { parseCard } from "../../src/models/card.ts";
import type { ModelVersion } from "../../src/models/model_version.ts";
import { segmentImage } from "../../src/segment.ts";
import { fixtureCard } from "../helpers/model_repo.ts";

/** A stand-in model whose logits are +8 where `blobs` says "#" and −8 elsewhere (32×32, no resize). */
function fakeModel(
  largestComponent: boolean | undefined,
  blobs: (x: number, y: number) => boolean,
): ModelVersion {
  const base = fixtureCard("fake", "1", 1);
  const card = parseCard({
    ...base,
    input: { ...(base.input as object), resize: undefined, pad_multiple: 16 },
    ...(largestComponent === undefined
      ? {}
      : { postprocess: { largest_component: largestComponent } }),
  }, "fake/model.json");
  const logits: Tensor = { dims: [1, 1, 32, 32], data: new Float32Array(32 * 32) };
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      logits.data[y * 32 + x] = blobs(x, y) ? 8 : -8;
    }
  }
  return {
    card,
    infer: () =>
      Promise.resolve({
        outputs: { logits },
        timings: { queueMs: 0, computeMs: 0 },
        runtime: {
          engine: "native",
          threads: 1,
          reason: "test",
          notes: [],
          precision: "fp32",
          file: "x",
          ops: [],
          parameters: 0,
        },
      }),
  } as unknown as ModelVersion;
}

const image: DecodedImage = {
  width: 32,
  height: 32,
  channels: 1,
  data: new Uint8Array(32 * 32),
  maxValue: 255,
  source: "png",
};
// a 6×6 square (36 px) and a 3×3 speck (9 px), far apart
const twoBlobs = (x: number, y: number) =>
  (x >= 4 && x < 10 && y >= 4 && y < 10) || (x >= 25 && x < 28 && y >= 25 && y < 28);
const count = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);

Deno.test("segmentImage: a card with postprocess.largest_component keeps one region and says so", async () => {
  const { segmentation } = await segmentImage(fakeModel(true, twoBlobs), image);
  assert.equal(count(segmentation.mask), 36);
  assert.equal(segmentation.mask[5 * 32 + 5], 1);
  assert.equal(segmentation.mask[26 * 32 + 26], 0);
  assert.deepEqual(segmentation.postprocess, ["largest_component"]);
});

Deno.test("segmentImage: postprocess 'none' and cards without the field keep every region", async () => {
  const raw = await segmentImage(fakeModel(true, twoBlobs), image, { postprocess: "none" });
  assert.equal(count(raw.segmentation.mask), 45);
  assert.deepEqual(raw.segmentation.postprocess, []);
  const plain = await segmentImage(fakeModel(undefined, twoBlobs), image);
  assert.equal(count(plain.segmentation.mask), 45);
  assert.deepEqual(plain.segmentation.postprocess, []);
});

Deno.test("model card: postprocess defaults to off and rejects non-boolean values", () => {
  assert.deepEqual(parseCard(fixtureCard("a", "1"), "f").postprocess, { largest_component: false });
  assert.throws(
    () => parseCard({ ...fixtureCard("a", "1"), postprocess: { largest_component: "yes" } }, "f"),
    /postprocess\.largest_component/,
  );
});
