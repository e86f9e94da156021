/**
 * DICOM Part 10 parsing with dicom-parser: signature sniffing, the transfer syntax check
 * (before the dataset is read), a bounded inflater for deflated files, parser failures
 * turned into `bad_dicom`, and text values decoded in the file's character set.
 *
 * @module
 */
import dicomParser from "dicom-parser";
import { inflateRawSync } from "node:zlib";
import { ApiError } from "../errors.ts";
import { checkTransferSyntax } from "./dicom_transfer_syntax.ts";

/** One element of a parsed dataset (the part of dicom-parser's type we use). */
export interface DicomElement {
  tag: string;
  vr?: string;
  length: number;
  dataOffset: number;
  items?: { dataSet?: DicomDataSet }[];
  encapsulatedPixelData?: boolean;
}

/** A parsed dataset (the part of dicom-parser's `DataSet` we use). */
export interface DicomDataSet {
  byteArray: Uint8Array;
  elements: Record<string, DicomElement>;
  string(tag: string, index?: number): string | undefined;
  uint16(tag: string, index?: number): number | undefined;
  floatString(tag: string, index?: number): number | undefined;
  intString(tag: string, index?: number): number | undefined;
  numStringValues(tag: string): number | undefined;
}

/** A parsed file and its transfer syntax UID. */
export interface ParsedDicom {
  dataSet: DicomDataSet;
  transferSyntax: string;
}

const parser = dicomParser as unknown as {
  parseDicom(bytes: Uint8Array, options?: Record<string, unknown>): DicomDataSet;
  readPart10Header(bytes: Uint8Array): DicomDataSet;
};

/** The message inside whatever dicom-parser threw (a string, an Error, or `{exception}`). */
function parserMessage(err: unknown): string {
  const inner = (err as { exception?: unknown })?.exception ?? err;
  const text = inner instanceof Error ? inner.message : String(inner);
  return text.replace(/^dicomParser[.:]\s*/i, "").slice(0, 200);
}

/**
 * Parses a Part 10 file.
 * @param maxInflatedBytes the most a deflated dataset may inflate to
 * @throws {ApiError} `bad_dicom` (400) for corrupt or truncated files,
 *   `unsupported_transfer_syntax` (415) for compressed pixel data
 */
export function parseDicomFile(bytes: Uint8Array, maxInflatedBytes: number): ParsedDicom {
  // one instance is read for its UIDs, its image facts and its frames by different
  // modules (the DICOM node, the SEG writer, decode): parse each buffer once
  const known = parsed.get(bytes);
  if (known && known.maxInflatedBytes === maxInflatedBytes) {
    parseStats.reused++;
    return known.file;
  }
  const file = parseUncached(bytes, maxInflatedBytes);
  parsed.set(bytes, { maxInflatedBytes, file });
  parseStats.parsed++;
  return file;
}

/** Parsed files by their bytes (the same buffer, not equal bytes: a changed buffer is a new key only if it is a new object — callers do not mutate DICOM buffers they parsed). */
const parsed = new WeakMap<Uint8Array, { maxInflatedBytes: number; file: ParsedDicom }>();
/** Parses and re-uses so far (for tests). */
export const parseStats = { parsed: 0, reused: 0 };

function parseUncached(bytes: Uint8Array, maxInflatedBytes: number): ParsedDicom {
  let transferSyntax: string | undefined;
  try {
    transferSyntax = parser.readPart10Header(bytes).string("x00020010");
  } catch (err) {
    throw new ApiError("bad_dicom", `corrupt DICOM file meta information: ${parserMessage(err)}`);
  }
  if (!transferSyntax) {
    throw new ApiError(
      "bad_dicom",
      "DICOM file meta information has no Transfer Syntax UID (0002,0010)",
    );
  }
  checkTransferSyntax(transferSyntax);
  const inflater = (whole: Uint8Array, position: number): Uint8Array => {
    let inflated: Uint8Array;
    try {
      inflated = inflateRawSync(whole.subarray(position), { maxOutputLength: maxInflatedBytes });
    } catch (err) {
      throw new ApiError(
        "bad_dicom",
        `deflated DICOM does not inflate within ${maxInflatedBytes} bytes: ${
          (err as Error).message
        }`,
      );
    }
    const out = new Uint8Array(position + inflated.length);
    out.set(whole.subarray(0, position));
    out.set(inflated, position);
    return out;
  };
  try {
    return { dataSet: parser.parseDicom(bytes, { inflater }), transferSyntax };
  } catch (err) {
    const inner = (err as { exception?: unknown })?.exception ?? err;
    if (inner instanceof ApiError) throw inner;
    throw new ApiError("bad_dicom", `corrupt or truncated DICOM: ${parserMessage(err)}`);
  }
}

/** TextDecoder labels for DICOM Specific Character Set defined terms (first value). */
const CHARSETS: Record<string, string> = {
  "ISO_IR 192": "utf-8",
  "ISO_IR 100": "windows-1252",
  "ISO 2022 IR 100": "windows-1252",
  "ISO_IR 101": "iso-8859-2",
  "ISO_IR 109": "iso-8859-3",
  "ISO_IR 110": "iso-8859-4",
  "ISO_IR 144": "iso-8859-5",
  "ISO_IR 127": "iso-8859-6",
  "ISO_IR 126": "iso-8859-7",
  "ISO_IR 138": "iso-8859-8",
  "ISO_IR 148": "windows-1254",
  "ISO_IR 166": "windows-874",
  "ISO_IR 13": "shift_jis",
  "GB18030": "gb18030",
  "GBK": "gbk",
};

/** A decoder for the dataset's Specific Character Set (0008,0005); Latin-1 when unknown. */
export function textDecoderFor(dataSet: DicomDataSet): TextDecoder {
  const term =
    (dataSet.string("x00080005") ?? "").split("\\").find((t) => t.trim() !== "")?.trim() ?? "";
  return new TextDecoder(CHARSETS[term] ?? "windows-1252");
}

/**
 * A text element decoded in the file's character set, trailing padding removed
 * (all values, backslash-separated, as stored); undefined when absent or empty.
 */
export function dicomText(
  dataSet: DicomDataSet,
  tag: string,
  decoder = textDecoderFor(dataSet),
): string | undefined {
  const el = dataSet.elements[tag];
  if (!el || el.length === 0) return undefined;
  const raw = dataSet.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  const text = decoder.decode(raw).replace(/[\0 ]+$/, "");
  return text === "" ? undefined : text;
}
