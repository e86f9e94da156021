/**
 * Helpers for the DICOM node tests: ultrasound and CT instances made from the shipped
 * sample PNGs (distinct UIDs each), dcmtk runs (`echoscu`, `storescu`), and reading a
 * SEG's mask and references back with dcmjs.
 *
 * @module
 */
import dcmjs from "dcmjs";
import { join } from "node:path";
import { decode as decodePng } from "fast-png";
import { makeDicom, pngAsDicom, testUid } from "./dicom.ts";

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

/** Ultrasound Image Storage / CT Image Storage. */
export const US_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.6.1";
export const CT_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.2";

/** The shipped fetal-ultrasound samples. */
export const HC18_SAMPLES = ["001_HC", "004_HC", "020_HC"].map((n) =>
  new URL(`../../models/hc18/samples/${n}.png`, import.meta.url)
);

/** An instance made from a sample PNG with the given SOP class and Modality. */
export async function sampleInstance(
  sample: URL,
  sopClass: string,
  modality: string,
  study = testUid(),
  series = testUid(),
  instanceNumber = 1,
): Promise<{ bytes: Uint8Array; sopInstanceUid: string }> {
  const sopInstanceUid = testUid();
  const bytes = await pngAsDicom(sample, {
    attributes: {
      SOPClassUID: sopClass,
      SOPInstanceUID: sopInstanceUid,
      StudyInstanceUID: study,
      SeriesInstanceUID: series,
      Modality: modality,
      InstanceNumber: String(instanceNumber),
    },
  });
  return { bytes, sopInstanceUid };
}

/** Ultrasound Multi-frame Image Storage. */
export const US_MULTIFRAME_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.3.1";

/** A multi-frame US instance: the grey samples as frames (cropped to the smallest). */
export async function multiFrameUs(): Promise<
  { bytes: Uint8Array; sopInstanceUid: string; frames: number }
> {
  const pngs = await Promise.all(HC18_SAMPLES.map(async (u) => decodePng(await Deno.readFile(u))));
  const w = Math.min(...pngs.map((p) => p.width)), h = Math.min(...pngs.map((p) => p.height));
  const pixels: number[] = [];
  for (const p of pngs) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) pixels.push(Number(p.data[(y * p.width + x) * p.channels]));
    }
  }
  const sopInstanceUid = testUid();
  const bytes = makeDicom({
    rows: h,
    columns: w,
    frames: pngs.length,
    pixels,
    attributes: {
      SOPClassUID: US_MULTIFRAME_SOP_CLASS,
      SOPInstanceUID: sopInstanceUid,
      Modality: "US",
    },
  });
  return { bytes, sopInstanceUid, frames: pngs.length };
}

/** Writes `count` US instances (one study, one series) into `dir`; returns their paths and UIDs. */
export async function writeUsSeries(dir: string, count: number, prefix = "us") {
  const study = testUid(), series = testUid();
  const out: { path: string; sopInstanceUid: string }[] = [];
  for (let i = 0; i < count; i++) {
    const { bytes, sopInstanceUid } = await sampleInstance(
      HC18_SAMPLES[i % HC18_SAMPLES.length],
      US_SOP_CLASS,
      "US",
      study,
      series,
      i + 1,
    );
    const path = join(dir, `${prefix}-${String(i).padStart(4, "0")}.dcm`);
    await Deno.writeFile(path, bytes);
    out.push({ path, sopInstanceUid });
  }
  return out;
}

/** Runs a dcmtk tool; returns its exit code and output. */
export async function dcmtk(tool: string, args: string[]) {
  const out = await new Deno.Command(tool, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/**
 * Runs a dcmtk SCU (`echoscu`, `storescu`) against a node on 127.0.0.1:`port`, from AE
 * `calling` to AE `called`; `args` (options, files) follow.
 */
export function scu(
  tool: string,
  port: number,
  args: string[] = [],
  calling = "MODALITY",
  called = "TINYUNET",
) {
  return dcmtk(tool, ["-aet", calling, "-aec", called, "127.0.0.1", String(port), ...args]);
}

/** A SEG read back: its mask bits per frame and what it references. */
export interface SegReadBack {
  rows: number;
  columns: number;
  frames: Uint8Array[];
  referencedInstances: string[];
  sopClassUid: string;
  modality: string;
}

/** Reads a SEG file with dcmjs. */
export function readSeg(bytes: Uint8Array): SegReadBack {
  const file = DicomMessage.readFile(bytes.slice().buffer as ArrayBuffer);
  const ds = DicomMetaDictionary.naturalizeDataset(file.dict);
  const rows = Number(ds.Rows), columns = Number(ds.Columns);
  const n = Number(ds.NumberOfFrames ?? 1);
  const packed = new Uint8Array(ds.PixelData[0]);
  const frames: Uint8Array[] = [];
  for (let f = 0; f < n; f++) {
    const mask = new Uint8Array(rows * columns);
    for (let i = 0; i < mask.length; i++) {
      const bit = f * mask.length + i;
      mask[i] = (packed[bit >> 3] >> (bit & 7)) & 1;
    }
    frames.push(mask);
  }
  const refs: string[] = [];
  const series = [ds.ReferencedSeriesSequence].flat();
  for (const s of series) {
    for (const r of [s?.ReferencedInstanceSequence].flat()) {
      if (r?.ReferencedSOPInstanceUID) refs.push(r.ReferencedSOPInstanceUID);
    }
  }
  return {
    rows,
    columns,
    frames,
    referencedInstances: refs,
    sopClassUid: ds.SOPClassUID,
    modality: ds.Modality,
  };
}
