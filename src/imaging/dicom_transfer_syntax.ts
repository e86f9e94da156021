/**
 * DICOM transfer syntaxes: which ones the server decodes (the uncompressed ones, deflate,
 * and the compressed ones a scanner or PACS sends: JPEG, JPEG-LS, JPEG 2000, HTJ2K, RLE),
 * which codec each needs, and the names of the others so that a refusal can say what was
 * sent.
 *
 * @module
 */
import { ApiError } from "../errors.ts";

/** Transfer syntaxes whose pixel data is stored uncompressed (deflate wraps the whole dataset). */
export const NATIVE_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2": "Implicit VR Little Endian",
  "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
  "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
  "1.2.840.10008.1.2.2": "Explicit VR Big Endian (retired)",
};

/** Explicit VR Big Endian: 16-bit samples are stored most significant byte first. */
export const BIG_ENDIAN_SYNTAX = "1.2.840.10008.1.2.2";

/** The codec that decodes an encapsulated syntax's frames. */
export type FrameCodec =
  | "jpeg-baseline"
  | "jpeg-lossless"
  | "jpeg-ls"
  | "jpeg2000"
  | "htj2k"
  | "rle";

/** Encapsulated syntaxes the server decodes, and with which codec. */
export const ENCAPSULATED_CODECS: Readonly<Record<string, FrameCodec>> = {
  "1.2.840.10008.1.2.4.50": "jpeg-baseline",
  "1.2.840.10008.1.2.4.51": "jpeg-baseline",
  "1.2.840.10008.1.2.4.57": "jpeg-lossless",
  "1.2.840.10008.1.2.4.70": "jpeg-lossless",
  "1.2.840.10008.1.2.4.80": "jpeg-ls",
  "1.2.840.10008.1.2.4.81": "jpeg-ls",
  "1.2.840.10008.1.2.4.90": "jpeg2000",
  "1.2.840.10008.1.2.4.91": "jpeg2000",
  "1.2.840.10008.1.2.4.201": "htj2k",
  "1.2.840.10008.1.2.4.202": "htj2k",
  "1.2.840.10008.1.2.4.203": "htj2k",
  "1.2.840.10008.1.2.5": "rle",
};

/** Names of the encapsulated (compressed) syntaxes a scanner may send. */
const COMPRESSED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
  "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
  "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
  "1.2.840.10008.1.2.4.70":
    "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
  "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
  "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-Lossless)",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.91": "JPEG 2000 Image Compression",
  "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multi-component Image Compression",
  "1.2.840.10008.1.2.4.94": "JPIP Referenced",
  "1.2.840.10008.1.2.4.95": "JPIP Referenced Deflate",
  "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
  "1.2.840.10008.1.2.4.101": "MPEG2 Main Profile / High Level",
  "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
  "1.2.840.10008.1.2.4.103": "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
  "1.2.840.10008.1.2.4.104": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
  "1.2.840.10008.1.2.4.105": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
  "1.2.840.10008.1.2.4.106": "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
  "1.2.840.10008.1.2.4.107": "HEVC/H.265 Main Profile / Level 5.1",
  "1.2.840.10008.1.2.4.108": "HEVC/H.265 Main 10 Profile / Level 5.1",
  "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
  "1.2.840.10008.1.2.4.111": "JPEG XL JPEG Recompression",
  "1.2.840.10008.1.2.4.112": "JPEG XL",
  "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.202":
    "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
  "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000 Image Compression",
  "1.2.840.10008.1.2.5": "RLE Lossless",
  "1.2.840.10008.1.2.8.1": "Deflated Image Frame Compression",
};

/** The name of a transfer syntax UID ("unknown transfer syntax" when not listed). */
export function transferSyntaxName(uid: string): string {
  return NATIVE_TRANSFER_SYNTAXES[uid] ?? COMPRESSED_TRANSFER_SYNTAXES[uid] ??
    "unknown transfer syntax";
}

/**
 * Checks that the server can decode a transfer syntax.
 * @throws {ApiError} `unsupported_transfer_syntax` (415) naming the UID and its name
 */
export function checkTransferSyntax(uid: string): void {
  if (uid in NATIVE_TRANSFER_SYNTAXES || uid in ENCAPSULATED_CODECS) return;
  const supported = [...Object.keys(NATIVE_TRANSFER_SYNTAXES), ...Object.keys(ENCAPSULATED_CODECS)]
    .map((u) => `${transferSyntaxName(u)} (${u})`).join(", ");
  throw new ApiError(
    "unsupported_transfer_syntax",
    `DICOM transfer syntax ${uid} (${
      transferSyntaxName(uid)
    }) is not supported; send one of: ${supported}`,
  );
}
