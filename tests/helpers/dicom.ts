/**
 * DICOM test files made in code with dcmjs (no committed binaries): any photometric
 * interpretation, bit depth, sign, rescale, window, planar configuration, transfer
 * syntax and frame count, plus real samples wrapped as DICOM.
 *
 * @module
 */
import dcmjs from "dcmjs";
import { decode as decodePng } from "fast-png";
import type { Bytes } from "./images.ts";

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** Transfer syntax UIDs used by the tests. */
export const TS = {
  implicitLE: "1.2.840.10008.1.2",
  explicitLE: "1.2.840.10008.1.2.1",
  explicitBE: "1.2.840.10008.1.2.2",
  jpegBaseline: "1.2.840.10008.1.2.4.50",
  jpeg2000: "1.2.840.10008.1.2.4.91",
  rle: "1.2.840.10008.1.2.5",
  mpeg2: "1.2.840.10008.1.2.4.100",
} as const;

/** Secondary Capture Image Storage. */
export const SC_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7";

/** What a fixture file holds. */
export interface DicomFixture {
  rows: number;
  columns: number;
  /** stored sample values, interleaved (or planar when `planar` is 1), all frames */
  pixels: ArrayLike<number>;
  photometric?: string;
  bitsAllocated?: 8 | 16 | 32;
  bitsStored?: number;
  highBit?: number;
  pixelRepresentation?: 0 | 1;
  planar?: 0 | 1;
  frames?: number;
  rescale?: [slope: number, intercept: number];
  /** one or more `[center, width]` windows */
  windows?: [number, number][];
  voiLutFunction?: string;
  pixelSpacing?: [number, number];
  imagerPixelSpacing?: [number, number];
  transferSyntax?: string;
  /** extra naturalized attributes (PatientName, StudyInstanceUID…) */
  attributes?: Record<string, unknown>;
  /** leave Pixel Data out */
  omitPixelData?: boolean;
}

/** A fresh `2.25.` UID. */
export function testUid(): string {
  return `2.25.${BigInt(`0x${crypto.randomUUID().replaceAll("-", "")}`)}`;
}

/** Stored sample bytes (two's complement for negatives), in the syntax's byte order. */
function pixelBytes(f: DicomFixture, bigEndian: boolean): ArrayBuffer {
  const bytesPer = (f.bitsAllocated ?? 8) / 8;
  const out = new Uint8Array(f.pixels.length * bytesPer + ((f.pixels.length * bytesPer) % 2));
  const view = new DataView(out.buffer);
  for (let i = 0; i < f.pixels.length; i++) {
    const v = f.pixels[i];
    if (bytesPer === 1) view.setUint8(i, v & 0xff);
    else if (bytesPer === 2) view.setUint16(2 * i, v & 0xffff, !bigEndian);
    else view.setUint32(4 * i, v >>> 0, !bigEndian);
  }
  return out.buffer;
}

/** Writes a DICOM Part 10 file. */
export function makeDicom(f: DicomFixture): Bytes {
  const photometric = f.photometric ?? "MONOCHROME2";
  const samples = ["RGB", "YBR_FULL", "YBR_FULL_422"].includes(photometric) ? 3 : 1;
  const bitsAllocated = f.bitsAllocated ?? 8;
  const bitsStored = f.bitsStored ?? bitsAllocated;
  const sopInstance = String(f.attributes?.SOPInstanceUID ?? testUid());
  const sopClass = String(f.attributes?.SOPClassUID ?? SC_SOP_CLASS);
  const ts = f.transferSyntax ?? TS.explicitLE;
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: "ISO_IR 192",
    SOPClassUID: SC_SOP_CLASS,
    SOPInstanceUID: sopInstance,
    StudyInstanceUID: testUid(),
    SeriesInstanceUID: testUid(),
    Modality: "OT",
    PatientName: "Test^Patient",
    PatientID: "TEST-1",
    SamplesPerPixel: samples,
    PhotometricInterpretation: photometric,
    Rows: f.rows,
    Columns: f.columns,
    BitsAllocated: bitsAllocated,
    BitsStored: bitsStored,
    HighBit: f.highBit ?? bitsStored - 1,
    PixelRepresentation: f.pixelRepresentation ?? 0,
    ...(samples === 3 ? { PlanarConfiguration: f.planar ?? 0 } : {}),
    ...(f.frames && f.frames > 1 ? { NumberOfFrames: String(f.frames) } : {}),
    ...(f.rescale
      ? {
        RescaleSlope: String(f.rescale[0]),
        RescaleIntercept: String(f.rescale[1]),
        RescaleType: "US",
      }
      : {}),
    ...(f.windows
      ? {
        WindowCenter: f.windows.map((w) => String(w[0])),
        WindowWidth: f.windows.map((w) => String(w[1])),
      }
      : {}),
    ...(f.voiLutFunction ? { VOILUTFunction: f.voiLutFunction } : {}),
    ...(f.pixelSpacing ? { PixelSpacing: f.pixelSpacing.map(String) } : {}),
    ...(f.imagerPixelSpacing ? { ImagerPixelSpacing: f.imagerPixelSpacing.map(String) } : {}),
    ...f.attributes,
  };
  if (!f.omitPixelData) {
    dataset.PixelData = [pixelBytes(f, ts === TS.explicitBE)];
    dataset._vrMap = { PixelData: bitsAllocated === 8 ? "OB" : "OW" };
  }
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sopInstance,
    TransferSyntaxUID: ts,
    ImplementationClassUID: "2.25.1",
    ImplementationVersionName: "TINYUNET_TEST",
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write()) as Bytes;
}

/** A committed PNG sample wrapped as an 8-bit DICOM (RGB or MONOCHROME2). */
export async function pngAsDicom(url: URL, fixture: Partial<DicomFixture> = {}): Promise<Bytes> {
  const png = decodePng(await Deno.readFile(url));
  const channels = png.channels;
  if (png.depth !== 8 || (channels !== 1 && channels !== 3)) {
    throw new Error(`unexpected sample PNG: ${channels} channels, depth ${png.depth}`);
  }
  return makeDicom({
    rows: png.height,
    columns: png.width,
    pixels: png.data,
    photometric: channels === 3 ? "RGB" : "MONOCHROME2",
    ...fixture,
  });
}

/** Re-encodes an Explicit VR Little Endian file as Deflated Explicit VR Little Endian. */
export async function deflateDicom(explicitLe: Uint8Array): Promise<Bytes> {
  const { deflateRawSync } = await import("node:zlib");
  const view = new DataView(explicitLe.buffer, explicitLe.byteOffset, explicitLe.byteLength);
  const metaEnd = 132 + 12 + view.getUint32(140, true); // (0002,0000) UL group length
  const dataset = explicitLe.subarray(metaEnd);
  const metaOnly = new DicomDict(DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: SC_SOP_CLASS,
    MediaStorageSOPInstanceUID: testUid(),
    TransferSyntaxUID: "1.2.840.10008.1.2.1.99",
    ImplementationClassUID: "2.25.1",
  }));
  const head = new Uint8Array(metaOnly.write());
  const body = deflateRawSync(dataset);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out as Bytes;
}
