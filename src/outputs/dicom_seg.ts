/**
 * The mask as a DICOM Segmentation object (SOP class 1.2.840.10008.5.1.4.1.1.66.4,
 * BINARY, one segment), written with dcmjs in Explicit VR Little Endian. It joins the
 * source's study (patient and study attributes copied, same Frame of Reference), starts a
 * new series marked "research use only", and references the source instance in the
 * Common Instance Reference module and in each frame's Derivation Image Sequence.
 *
 * Made to pass dicom3tools' `dciodvfy`: every Type 2 patient/study attribute is written
 * even when the source has none (dates and times normalised to their VR, or empty),
 * Patient Orientation is written when there is no plane orientation, a frame number is
 * referenced only for multi-frame sources, and the segment is coded in SNOMED CT from
 * the model card. The source's Specific Character Set is kept and its text copied as its
 * own bytes (see `dicom_raw_elements.ts`), so names in ISO 2022 (Japanese, Korean…),
 * Latin-1 or GB18030 read back unchanged.
 *
 * @module
 */
import dcmjs from "dcmjs";
import type { DicomSource } from "../imaging/dicom_source.ts";
import type { Segmentation } from "../imaging/postprocess.ts";
import {
  type Code,
  DEFAULT_ALGORITHM_FAMILY,
  DEFAULT_SEGMENT_CODING,
} from "../models/card_dicom.ts";
import { insertRawElements } from "./dicom_raw_elements.ts";

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** Segmentation Storage. */
export const SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4";
/** Explicit VR Little Endian. */
const EXPLICIT_LE = "1.2.840.10008.1.2.1";
/** This software's implementation class UID (a fixed 2.25 UUID-derived UID). */
const IMPLEMENTATION_CLASS_UID = "2.25.185847319563429938137205596200767249266";

/** What the segmentation says about its maker. */
export interface SegAlgorithm {
  modelName: string;
  modelVersion: string;
  /** the segment's label (the card's `label`) */
  label: string;
  /** false for untrained placeholders: said in the segment description */
  trained: boolean;
  softwareVersion: string;
  /** the 1-based source frame segmented, for multi-frame sources */
  sourceFrame?: number;
  /** the card's segment coding (SNOMED CT category/type); default: Tissue */
  segment?: { category: Code; type: Code; anatomic_region?: Code };
  /** the card's Algorithm Identification */
  algorithm?: { family: Code; name?: string };
}

/** A new UID: `2.25.` followed by a random UUID as a decimal integer. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${crypto.randomUUID().replaceAll("-", "")}`)}`;
}

/** Packs a 0/1 mask into bits, least significant bit first (DICOM BitsAllocated 1), even length. */
export function packBits(mask: Uint8Array): Uint8Array {
  const bytes = Math.ceil(mask.length / 8);
  const out = new Uint8Array(bytes + (bytes % 2));
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[i >> 3] |= 1 << (i & 7);
  return out;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max);
}

function dateTime(now: Date): { date: string; time: string } {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return {
    date: `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`,
    time: `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`,
  };
}

/** A Code Sequence item. */
function codeItem(c: Code, text: (s: string, max: number) => string) {
  return {
    CodeValue: c.code,
    CodingSchemeDesignator: c.scheme,
    CodeMeaning: text(c.meaning, 64),
  };
}

/** The identity of a new SEG instance (its study is its source's). */
export interface SegUids {
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/** Fresh UIDs for a new SEG. */
export function newSegUids(): SegUids {
  return { sopInstanceUid: newUid(), seriesInstanceUid: newUid() };
}

/**
 * Writes the segmentation.
 * @param source the segmented image (from `readDicomSource`)
 * @param seg the mask, at the source's size
 * @param options `uids`: the new instance's UIDs (callers that report them make them first;
 * fresh ones by default); `now`: its content date and time
 * @returns a DICOM Part 10 file
 */
export function dicomSeg(
  source: DicomSource,
  seg: Segmentation,
  algorithm: SegAlgorithm,
  { uids = newSegUids(), now = new Date() }: { uids?: SegUids; now?: Date } = {},
): Uint8Array {
  if (seg.width !== source.columns || seg.height !== source.rows) {
    throw new Error(
      `mask ${seg.width}×${seg.height} does not match the source ${source.columns}×${source.rows}`,
    );
  }
  const { sopInstanceUid, seriesInstanceUid: seriesUid } = uids;
  const dimensionOrganizationUid = newUid();
  const { date, time } = dateTime(now);
  // our own text must be valid in the source's character set: ASCII unless it is UTF-8
  const charset = source.specificCharacterSet;
  const utf8 = charset.length === 1 && charset[0] === "ISO_IR 192";
  const text = (value: string, max: number) =>
    clip(utf8 ? value : value.normalize("NFKD").replace(/[^\x20-\x5b\x5d-\x7e]/g, ""), max);
  const algorithmName = text(
    algorithm.algorithm?.name ?? `${algorithm.modelName} ${algorithm.modelVersion}`,
    64,
  );
  const coding = algorithm.segment ?? DEFAULT_SEGMENT_CODING;
  const sourceImage = {
    ReferencedSOPClassUID: source.sopClassUid,
    ReferencedSOPInstanceUID: source.sopInstanceUid,
    ...(source.multiFrameIod && algorithm.sourceFrame
      ? { ReferencedFrameNumber: String(algorithm.sourceFrame) }
      : {}),
    PurposeOfReferenceCodeSequence: [{
      CodeValue: "121322",
      CodingSchemeDesignator: "DCM",
      CodeMeaning: "Source image for image processing operation",
    }],
  };
  const shared: Record<string, unknown> = {};
  if (source.pixelSpacingMm) {
    shared.PixelMeasuresSequence = [{
      PixelSpacing: source.pixelSpacingMm.map(String),
      ...(source.sliceThicknessMm ? { SliceThickness: String(source.sliceThicknessMm) } : {}),
    }];
  }
  if (source.imageOrientationPatient) {
    shared.PlaneOrientationSequence = [{
      ImageOrientationPatient: source.imageOrientationPatient.map(String),
    }];
  }
  const frame = {
    FrameContentSequence: [{ DimensionIndexValues: [1] }],
    SegmentIdentificationSequence: [{ ReferencedSegmentNumber: 1 }],
    DerivationImageSequence: [{
      SourceImageSequence: [sourceImage],
      DerivationCodeSequence: [{
        CodeValue: "113076",
        CodingSchemeDesignator: "DCM",
        CodeMeaning: "Segmentation",
      }],
    }],
    ...(source.imagePositionPatient
      ? {
        PlanePositionSequence: [{ ImagePositionPatient: source.imagePositionPatient.map(String) }],
      }
      : {}),
  };
  const dataset: Record<string, unknown> = {
    ...(charset.length > 0 ? { SpecificCharacterSet: charset } : {}),
    ImageType: ["DERIVED", "PRIMARY"],
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    SOPClassUID: SEG_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    StudyInstanceUID: source.studyInstanceUid,
    SeriesInstanceUID: seriesUid,
    SeriesNumber: "901",
    SeriesDate: date,
    SeriesTime: time,
    SeriesDescription: text(`Research use only: ${algorithm.modelName} ${algorithm.label}`, 64),
    Modality: "SEG",
    ...(source.frameOfReferenceUid
      ? { FrameOfReferenceUID: source.frameOfReferenceUid, PositionReferenceIndicator: "" }
      : {}),
    Manufacturer: "TinyUnet Edge",
    ManufacturerModelName: text(algorithm.modelName, 64),
    DeviceSerialNumber: text(algorithm.modelVersion, 64),
    SoftwareVersions: text(algorithm.softwareVersion, 64),
    InstanceNumber: "1",
    // Type 2C: required when the frames have no Plane Orientation (patient)
    ...(source.imageOrientationPatient ? {} : { PatientOrientation: source.patientOrientation }),
    ContentDate: date,
    ContentTime: time,
    ContentLabel: "SEGMENTATION",
    ContentDescription: "Automatic segmentation - research use only, not for diagnosis",
    ContentCreatorName: "TinyUnet^Edge",
    SegmentationType: "BINARY",
    LossyImageCompression: "00",
    SegmentSequence: [{
      SegmentNumber: 1,
      SegmentLabel: text(algorithm.label, 64),
      ...(algorithm.trained
        ? {}
        : { SegmentDescription: "UNTRAINED placeholder model: the mask means nothing" }),
      SegmentAlgorithmType: "AUTOMATIC",
      SegmentAlgorithmName: algorithmName,
      SegmentationAlgorithmIdentificationSequence: [{
        AlgorithmFamilyCodeSequence: [
          codeItem(algorithm.algorithm?.family ?? DEFAULT_ALGORITHM_FAMILY, text),
        ],
        AlgorithmName: algorithmName,
        AlgorithmVersion: text(algorithm.modelVersion, 64),
      }],
      SegmentedPropertyCategoryCodeSequence: [codeItem(coding.category, text)],
      SegmentedPropertyTypeCodeSequence: [codeItem(coding.type, text)],
      ...("anatomic_region" in coding && coding.anatomic_region
        ? { AnatomicRegionSequence: [codeItem(coding.anatomic_region, text)] }
        : {}),
    }],
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [{
      DimensionOrganizationUID: dimensionOrganizationUid,
      DimensionIndexPointer: 0x0062000b,
      FunctionalGroupPointer: 0x0062000a,
      DimensionDescriptionLabel: "Segment Number",
    }],
    ReferencedSeriesSequence: [{
      SeriesInstanceUID: source.seriesInstanceUid,
      ReferencedInstanceSequence: [{
        ReferencedSOPClassUID: source.sopClassUid,
        ReferencedSOPInstanceUID: source.sopInstanceUid,
      }],
    }],
    SharedFunctionalGroupsSequence: [shared],
    PerFrameFunctionalGroupsSequence: [frame],
    NumberOfFrames: "1",
    SamplesPerPixel: 1,
    PhotometricInterpretation: "MONOCHROME2",
    Rows: seg.height,
    Columns: seg.width,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    PixelData: [packBits(seg.mask).buffer],
    _vrMap: { PixelData: "OB" },
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: SEG_SOP_CLASS,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_LE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: "TINYUNET_EDGE",
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  // the copied patient/study text goes in as the source's bytes (dcmjs would re-encode it)
  return insertRawElements(new Uint8Array(dict.write()), source.copied);
}
