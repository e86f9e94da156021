import assert from "node:assert/strict";
import dcmjs from "dcmjs";
import { segForFrames } from "../../../src/dicom_node/seg_frames.ts";
import { newSegUids } from "../../../src/outputs/dicom_seg.ts";
import { readDicomSource } from "../../../src/imaging/dicom_source.ts";
import type { Segmentation } from "../../../src/imaging/postprocess.ts";
import { readSeg } from "../../helpers/dicom_node.ts";
import { makeDicom } from "../../helpers/dicom.ts";

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
const ALGORITHM = {
  modelName: "m",
  modelVersion: "1",
  label: "head",
  trained: true,
  softwareVersion: "test",
};

function mask(w: number, h: number, seed: number): Segmentation {
  const m = new Uint8Array(w * h).map((_, i) => ((i * 7 + seed * 13) % 5 === 0 ? 1 : 0));
  return { mask: m, width: w, height: h } as Segmentation;
}

Deno.test("seg_frames: one SEG frame per source frame, bits packed across frames, each frame referenced", () => {
  // 5×3 = 15 pixels: frames do not start on a byte boundary
  const frames = 3;
  const src = makeDicom({ rows: 3, columns: 5, frames, pixels: new Array(15 * frames).fill(9) });
  const source = readDicomSource(src, 1e6);
  const masks = [0, 1, 2].map((s) => mask(5, 3, s));
  const seg = segForFrames(source, masks, ALGORITHM);
  const back = readSeg(seg);
  assert.equal(back.frames.length, 3);
  for (const [i, m] of masks.entries()) assert.deepEqual(back.frames[i], m.mask);
  assert.deepEqual(back.referencedInstances, [source.sopInstanceUid]);
  const ds = DicomMetaDictionary.naturalizeDataset(
    DicomMessage.readFile(seg.slice().buffer as ArrayBuffer).dict,
  );
  const refs = [ds.PerFrameFunctionalGroupsSequence].flat().map((f: Record<string, unknown>) =>
    [[f.DerivationImageSequence].flat()[0] as Record<string, unknown>].map((d) =>
      [d.SourceImageSequence].flat()[0] as Record<string, unknown>
    )[0].ReferencedFrameNumber
  );
  assert.deepEqual(refs.map(Number), [1, 2, 3]);
});

Deno.test("seg_frames: a single-frame source gives the writer's single-frame SEG", () => {
  const src = makeDicom({ rows: 3, columns: 5, pixels: new Array(15).fill(1) });
  const source = readDicomSource(src, 1e6);
  const back = readSeg(segForFrames(source, [mask(5, 3, 4)], ALGORITHM));
  assert.equal(back.frames.length, 1);
  assert.deepEqual(back.frames[0], mask(5, 3, 4).mask);
});

Deno.test("seg_frames: the SEG carries the UIDs it was given (single- and multi-frame)", () => {
  for (const frames of [1, 2]) {
    const src = makeDicom({ rows: 3, columns: 5, frames, pixels: new Array(15 * frames).fill(2) });
    const source = readDicomSource(src, 1e6);
    const uids = newSegUids();
    const seg = segForFrames(
      source,
      [0, 1].slice(0, frames).map((s) => mask(5, 3, s)),
      ALGORITHM,
      uids,
    );
    const made = readDicomSource(seg, 1e6);
    assert.equal(made.sopInstanceUid, uids.sopInstanceUid);
    assert.equal(made.seriesInstanceUid, uids.seriesInstanceUid);
    assert.equal(made.studyInstanceUid, source.studyInstanceUid);
    assert.notEqual(uids.sopInstanceUid, newSegUids().sopInstanceUid);
  }
});
