/**
 * One DICOM Segmentation for every frame of a source: the single-frame writer
 * (src/outputs/dicom_seg.ts) makes the object for frame 1, and this file turns it into a
 * multi-frame SEG with one frame per source frame — each frame's functional group
 * references its source frame (Referenced Frame Number) and the masks are packed as one
 * bit stream (BitsAllocated 1 packs across frame boundaries, PS3.5 8.1.1). Kept apart
 * from the writer so the writer stays the one home of the SEG's content.
 *
 * @module
 */
import dcmjs from "dcmjs";
import type { DicomSource } from "../imaging/dicom_source.ts";
import type { Segmentation } from "../imaging/postprocess.ts";
import {
  dicomSeg,
  newSegUids,
  packBits,
  type SegAlgorithm,
  type SegUids,
} from "../outputs/dicom_seg.ts";

const { DicomDict, DicomMessage, DicomMetaDictionary } = dcmjs.data;

type Item = Record<string, unknown>;

function items(value: unknown): Item[] {
  return Array.isArray(value)
    ? value as Item[]
    : value && typeof value === "object"
    ? [value as Item]
    : [];
}

/** A deep copy of a naturalized item (plain data: strings, numbers, arrays, objects). */
function copy(item: Item): Item {
  return JSON.parse(JSON.stringify(item));
}

/**
 * Writes the SEG of a source image from one mask per source frame (in frame order).
 * @param masks one segmentation per frame; a single-frame source has one
 * @param uids the new SEG's UIDs
 */
export function segForFrames(
  source: DicomSource,
  masks: Segmentation[],
  algorithm: Omit<SegAlgorithm, "sourceFrame">,
  uids: SegUids = newSegUids(),
): Uint8Array {
  if (masks.length === 0) throw new Error("no frames to write");
  const multi = source.frames > 1;
  const frame1 = { ...algorithm, ...(multi ? { sourceFrame: 1 } : {}) };
  const first = dicomSeg(source, masks[0], frame1, { uids });
  if (masks.length === 1) return first;
  const file = DicomMessage.readFile(first.buffer as ArrayBuffer);
  const ds = DicomMetaDictionary.naturalizeDataset(file.dict) as Item;
  const template = copy(items(ds.PerFrameFunctionalGroupsSequence)[0]);
  ds.PerFrameFunctionalGroupsSequence = masks.map((_, i) => {
    const frame = copy(template);
    for (const derivation of items(frame.DerivationImageSequence)) {
      for (const src of items(derivation.SourceImageSequence)) {
        src.ReferencedFrameNumber = String(i + 1);
      }
    }
    return frame;
  });
  const pixels = masks[0].width * masks[0].height;
  const all = new Uint8Array(pixels * masks.length);
  masks.forEach((m, i) => all.set(m.mask, i * pixels));
  ds.NumberOfFrames = String(masks.length);
  ds.PixelData = [packBits(all).buffer];
  ds._vrMap = { PixelData: "OB" };
  const dict = new DicomDict(file.meta);
  dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  return new Uint8Array(dict.write());
}
