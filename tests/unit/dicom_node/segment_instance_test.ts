/**
 * The node's segmentation of one instance runs its stages in the stage pool's workers (as
 * `/v1` does), frame by frame, and gives one SEG frame per source frame.
 */
import assert from "node:assert/strict";
import { segmentInstance } from "../../../src/dicom_node/segment_instance.ts";
import { SegmentPipeline } from "../../../src/serving/pipeline.ts";
import { StagePool } from "../../../src/serving/pool.ts";
import { multiFrameUs, readSeg } from "../../helpers/dicom_node.ts";
import { fixtureServer } from "../../helpers/model_repo.ts";

Deno.test("segmentInstance: every frame is decoded in a pool worker, not on the event loop; one SEG frame each", async () => {
  await using server = await fixtureServer([
    { name: "head", net: { channels: 1 }, card: { modalities: ["US"] } },
  ]);
  const { bytes, frames } = await multiFrameUs();
  const deps = (pool: StagePool) => ({
    pipeline: new SegmentPipeline(server.registry, pool, { maxPixels: 4_000_000 }),
    routes: {},
    softwareVersion: "test",
  });
  // one worker, started on first need; nothing counts as small enough to run inline
  const pool = new StagePool(1, 60_000, 0);
  try {
    const outcome = await segmentInstance(bytes, deps(pool));
    assert.equal(outcome.kind, "segmented");
    if (outcome.kind !== "segmented") return;
    assert.equal(pool.inline, 0, "no stage ran on the calling thread");
    assert.equal(pool.live, 1, "the worker was started for it");
    const seg = readSeg(outcome.seg.bytes);
    assert.equal(seg.frames.length, frames);
    // the same instance with the stages on the calling thread: the same masks
    const here = await segmentInstance(bytes, deps(new StagePool(0)));
    assert.equal(here.kind, "segmented");
    if (here.kind === "segmented") assert.deepEqual(readSeg(here.seg.bytes).frames, seg.frames);
  } finally {
    pool.close();
  }
});

Deno.test("segmentInstance: the frames' jobs share one copy of the instance instead of a copy each", async () => {
  await using server = await fixtureServer([
    { name: "head", net: { channels: 1 }, card: { modalities: ["US"] } },
  ]);
  const { bytes, frames } = await multiFrameUs();
  const pool = new StagePool(1, 60_000, 0);
  try {
    const pipeline = new SegmentPipeline(server.registry, pool, { maxPixels: 4_000_000 });
    const seen: ArrayBufferLike[] = [];
    const segment = pipeline.segment.bind(pipeline);
    pipeline.segment = (model, precision, upload, ...rest) => {
      seen.push(upload.bytes.buffer);
      return segment(model, precision, upload, ...rest);
    };
    const before = bytes.slice();
    const outcome = await segmentInstance(bytes, { pipeline, routes: {}, softwareVersion: "test" });
    assert.equal(outcome.kind, "segmented");
    assert.equal(seen.length, frames);
    assert.ok(seen[0] instanceof SharedArrayBuffer, "posted shared, not transferred or copied");
    assert.ok(seen.every((b) => b === seen[0]), "one buffer for every frame");
    assert.deepEqual(bytes, before, "the caller's bytes are untouched");
  } finally {
    pool.close();
  }
});
