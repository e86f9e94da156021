/**
 * What a derived object (a DICOM Segmentation) needs from its source image: the UIDs to
 * reference, the patient and study attributes to copy (decoded in the source's character
 * set), and the plane geometry when the source has one.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { type DicomDataSet, dicomText, parseDicomFile, textDecoderFor } from "./dicom_parse.ts";
import { pixelSpacing } from "./decode_dicom.ts";

/** Patient and study attributes copied verbatim into derived objects. */
export const COPIED_ATTRIBUTES = {
  PatientName: "x00100010",
  PatientID: "x00100020",
  PatientBirthDate: "x00100030",
  PatientSex: "x00100040",
  StudyDate: "x00080020",
  StudyTime: "x00080030",
  AccessionNumber: "x00080050",
  ReferringPhysicianName: "x00080090",
  StudyID: "x00200010",
} as const;

/** The source image as a derived object references it. */
export interface DicomSource {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid?: string;
  /** copied attributes by keyword (absent ones left out) */
  attributes: Partial<Record<keyof typeof COPIED_ATTRIBUTES, string>>;
  rows: number;
  columns: number;
  frames: number;
  pixelSpacingMm?: [number, number];
  sliceThicknessMm?: number;
  imagePositionPatient?: number[];
  imageOrientationPatient?: number[];
}

function uid(ds: DicomDataSet, tag: string, name: string): string {
  const v = ds.string(tag)?.replace(/\0/g, "").trim();
  if (!v) {
    throw new ApiError(
      "bad_dicom",
      `the source DICOM has no ${name} (${tag.slice(1, 5)},${
        tag.slice(5)
      }), so a segmentation cannot reference it`,
    );
  }
  return v;
}

function numbers(ds: DicomDataSet, tag: string, count: number): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = ds.floatString(tag, i);
    if (v === undefined || !Number.isFinite(v)) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * Reads the reference information of a DICOM Part 10 file.
 * @throws {ApiError} `bad_dicom` when unreadable or a required UID is missing
 */
export function readDicomSource(bytes: Uint8Array, maxInflatedBytes: number): DicomSource {
  const { dataSet: ds } = parseDicomFile(bytes, maxInflatedBytes);
  const decoder = textDecoderFor(ds);
  const attributes: DicomSource["attributes"] = {};
  for (const [keyword, tag] of Object.entries(COPIED_ATTRIBUTES)) {
    const v = dicomText(ds, tag, decoder);
    if (v !== undefined) attributes[keyword as keyof typeof COPIED_ATTRIBUTES] = v;
  }
  const thickness = ds.floatString("x00180050", 0);
  return {
    sopClassUid: uid(ds, "x00080016", "SOP Class UID"),
    sopInstanceUid: uid(ds, "x00080018", "SOP Instance UID"),
    studyInstanceUid: uid(ds, "x0020000d", "Study Instance UID"),
    seriesInstanceUid: uid(ds, "x0020000e", "Series Instance UID"),
    frameOfReferenceUid: ds.string("x00200052")?.replace(/\0/g, "").trim() || undefined,
    attributes,
    rows: ds.uint16("x00280010") ?? 0,
    columns: ds.uint16("x00280011") ?? 0,
    frames: ds.intString("x00280008") ?? 1,
    pixelSpacingMm: pixelSpacing(ds),
    sliceThicknessMm: thickness !== undefined && thickness > 0 ? thickness : undefined,
    imagePositionPatient: numbers(ds, "x00200032", 3),
    imageOrientationPatient: numbers(ds, "x00200037", 6),
  };
}
