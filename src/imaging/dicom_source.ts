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

/**
 * Patient and study attributes a derived object copies: every one is Type 2 in the
 * Patient and General Study modules, so it is written even when the source has it
 * empty or absent. Text is copied as the source's bytes (in its character set); dates,
 * times and codes are normalised to their VR or left empty.
 */
export const COPIED_ATTRIBUTES = {
  StudyDate: { tag: 0x00080020, vr: "DA" },
  StudyTime: { tag: 0x00080030, vr: "TM" },
  AccessionNumber: { tag: 0x00080050, vr: "SH" },
  ReferringPhysicianName: { tag: 0x00080090, vr: "PN" },
  PatientName: { tag: 0x00100010, vr: "PN" },
  PatientID: { tag: 0x00100020, vr: "LO" },
  PatientBirthDate: { tag: 0x00100030, vr: "DA" },
  PatientSex: { tag: 0x00100040, vr: "CS" },
  StudyID: { tag: 0x00200010, vr: "SH" },
} as const;
/** Keyword of a copied attribute. */
export type CopiedKeyword = keyof typeof COPIED_ATTRIBUTES;

/** A copied element: the value bytes, in the source's character set (empty: no value). */
export interface CopiedElement {
  tag: number;
  vr: string;
  bytes: Uint8Array;
}

/** The source image as a derived object references it. */
export interface DicomSource {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid?: string;
  /** Specific Character Set (0008,0005) values as the source has them; [] when absent */
  specificCharacterSet: string[];
  /** copied attributes decoded for people (absent/empty/invalid ones left out) */
  attributes: Partial<Record<CopiedKeyword, string>>;
  /** every copied attribute, ready to write (Type 2: empty when absent or invalid) */
  copied: CopiedElement[];
  /** Patient Orientation (0020,0020) of the source, "" when absent */
  patientOrientation: string;
  rows: number;
  columns: number;
  frames: number;
  /** whether Number of Frames is present: the source's IOD is a multi-frame one */
  multiFrameIod: boolean;
  pixelSpacingMm?: [number, number];
  sliceThicknessMm?: number;
  imagePositionPatient?: number[];
  imageOrientationPatient?: number[];
}

const ASCII = new TextEncoder();

/** DA: YYYYMMDD; the ACR-NEMA forms YYYY.MM.DD and YYYY-MM-DD are rewritten; else "". */
export function normaliseDate(text: string): string {
  const t = text.trim();
  const m = /^(\d{4})[.\-]?(\d{2})[.\-]?(\d{2})$/.exec(t);
  if (!m) return "";
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return "";
  return `${m[1]}${m[2]}${m[3]}`;
}

/** TM: HH[MM[SS[.F{1,6}]]]; the form HH:MM:SS is rewritten; else "". */
export function normaliseTime(text: string): string {
  const t = text.trim();
  const colon = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?$/.exec(t);
  const plain = colon ? `${colon[1]}${colon[2]}${colon[3] ?? ""}${colon[4] ?? ""}` : t;
  return /^([01]\d|2[0-3])([0-5]\d([0-5]\d|60)?(\.\d{1,6})?)?$/.test(plain) &&
      !/^\d{2}\.|^\d{4}\./.test(plain)
    ? plain
    : "";
}

/** The most characters a value of the VR may have (per component group for PN). */
const MAX_CHARS: Record<string, number> = { SH: 16, LO: 64, PN: 64 };

function copiedValue(
  ds: DicomDataSet,
  keyword: CopiedKeyword,
  decoder: TextDecoder,
): { bytes: Uint8Array; text?: string } {
  const { tag, vr } = COPIED_ATTRIBUTES[keyword];
  const hex = `x${tag.toString(16).padStart(8, "0")}`;
  const el = ds.elements[hex];
  if (!el || el.length === 0 || el.dataOffset + el.length > ds.byteArray.length) {
    return { bytes: new Uint8Array() };
  }
  const raw = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  if (vr === "DA" || vr === "TM" || vr === "CS") {
    const ascii = new TextDecoder("latin1").decode(raw).replace(/[\0 ]+$/, "");
    const value = vr === "DA"
      ? normaliseDate(ascii)
      : vr === "TM"
      ? normaliseTime(ascii)
      : ["M", "F", "O"].includes(ascii.trim().toUpperCase())
      ? ascii.trim().toUpperCase()
      : "";
    return { bytes: ASCII.encode(value), text: value || undefined };
  }
  // text: the source's bytes, trailing padding off; too long for the VR → empty
  let end = raw.length;
  while (end > 0 && (raw[end - 1] === 0x20 || raw[end - 1] === 0)) end--;
  const bytes = raw.subarray(0, end);
  const text = dicomText(ds, hex, decoder);
  // with ISO 2022 code extensions the decoder here does not know the character count
  const extensions = (ds.string("x00080005") ?? "").includes("2022");
  const groups = vr === "PN" ? (text ?? "").split("=") : [text ?? ""];
  if (!extensions && groups.some((g) => g.length > MAX_CHARS[vr])) {
    return { bytes: new Uint8Array() };
  }
  return { bytes, text };
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
  const copied: CopiedElement[] = [];
  for (const keyword of Object.keys(COPIED_ATTRIBUTES) as CopiedKeyword[]) {
    const { bytes: value, text } = copiedValue(ds, keyword, decoder);
    const { tag, vr } = COPIED_ATTRIBUTES[keyword];
    copied.push({ tag, vr, bytes: value });
    if (text !== undefined && value.length > 0) attributes[keyword] = text;
  }
  const charsetElement = ds.elements.x00080005;
  const specificCharacterSet = charsetElement && charsetElement.length > 0
    ? new TextDecoder("latin1").decode(
      ds.byteArray.subarray(
        charsetElement.dataOffset,
        charsetElement.dataOffset + charsetElement.length,
      ),
    ).replace(/[\0 ]+$/, "").split("\\").map((v) => v.trim())
    : [];
  const thickness = ds.floatString("x00180050", 0);
  const orientation = (ds.string("x00200020") ?? "").trim();
  return {
    sopClassUid: uid(ds, "x00080016", "SOP Class UID"),
    sopInstanceUid: uid(ds, "x00080018", "SOP Instance UID"),
    studyInstanceUid: uid(ds, "x0020000d", "Study Instance UID"),
    seriesInstanceUid: uid(ds, "x0020000e", "Series Instance UID"),
    frameOfReferenceUid: ds.string("x00200052")?.replace(/\0/g, "").trim() || undefined,
    specificCharacterSet,
    attributes,
    copied,
    patientOrientation: /^[AFHLPR]*\\[AFHLPR]*$/.test(orientation) ? orientation : "",
    rows: ds.uint16("x00280010") ?? 0,
    columns: ds.uint16("x00280011") ?? 0,
    frames: ds.intString("x00280008") ?? 1,
    multiFrameIod: ds.elements.x00280008 !== undefined,
    pixelSpacingMm: pixelSpacing(ds),
    sliceThicknessMm: thickness !== undefined && thickness > 0 ? thickness : undefined,
    imagePositionPatient: numbers(ds, "x00200032", 3),
    imageOrientationPatient: numbers(ds, "x00200037", 6),
  };
}
