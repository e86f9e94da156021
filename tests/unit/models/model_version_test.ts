import assert from "node:assert/strict";
import { WARMUP_SIDE, warmupDims, warmupInput } from "../../../src/models/model_version.ts";
import { isolateBusy, isolateWork } from "../../../src/memory/collect.ts";
import { fixtureServer } from "../../helpers/model_repo.ts";

Deno.test("a model run is work in flight from its start to its end, failed or not (the memory keeper waits for it)", async () => {
  await using s = await fixtureServer([{ name: "tiny" }]);
  const mv = s.registry.get("tiny");
  const before = isolateWork();
  const run = mv.infer(warmupInput(mv.card));
  assert.equal(isolateBusy(), true, "busy as soon as the run is asked for");
  assert.equal(isolateWork(), before + 1);
  await run;
  assert.equal(isolateBusy(), false, "not busy once it answered");
  const bad = mv.infer({ image: { data: new Float32Array(3), dims: [1, 3, 1, 1] } });
  assert.equal(isolateBusy(), true);
  await assert.rejects(bad);
  assert.equal(isolateBusy(), false, "not busy once it failed");
});

Deno.test("warm-up shape: a fixed-size card's size, else (native) one small square rounded up to the pad multiple, or (web engines) the working size", async () => {
  await using s = await fixtureServer([{ name: "tiny" }]);
  const card = s.registry.get("tiny").card;
  const free = { ...card, input: { ...card.input, height: null, width: null, pad_multiple: 48 } };
  const side = Math.ceil(WARMUP_SIDE / 48) * 48;
  assert.deepEqual(warmupDims(free), [1, card.input.channels, side, side]);
  const long = { ...free, input: { ...free.input, pad_multiple: 16, resize: { long_side: 200 } } };
  assert.deepEqual(warmupDims(long, false), [1, card.input.channels, 208, 208]);
  const fixed = { ...card, input: { ...card.input, height: 96, width: 128 } };
  assert.deepEqual(warmupDims(fixed), [1, card.input.channels, 96, 128]);
  assert.deepEqual(warmupDims(fixed, false), [1, card.input.channels, 96, 128]);
});
