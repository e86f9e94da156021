/**
 * Compressed twins of an uncompressed DICOM file, made in the test with the community's
 * encoders: dcmtk (`dcmcjpeg` JPEG baseline/extended/lossless, `dcmcjpls` JPEG-LS,
 * `dcmcrle` RLE), OpenJPEG's `opj_compress` (JPEG 2000, no dcmtk J2K encoder in Debian)
 * and OpenJPH's WebAssembly encoder (HTJ2K: no Debian package ships an HTJ2K encoder),
 * the last two wrapped into encapsulated Pixel Data here.
 *
 * @module
 */
import dcmjs from "dcmjs";
import { decode as decodePng } from "fast-png";
import { join } from "node:path";
import type { Bytes } from "./images.ts";

const { DicomDict, DicomMessage, DicomMetaDictionary } = dcmjs.data;

/** One compressed twin. */
export interface CompressedTwin {
  /** what made it ("dcmcjpeg +eb") */
  name: string;
  transferSyntax: string;
  lossless: boolean;
  bytes: Bytes;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Runs a dcmtk compressor (`dcmcjpeg`, `dcmcjpls`, `dcmcrle`) on a file. */
export async function dcmtk(src: Uint8Array, tool: string, args: string[]): Promise<Bytes> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-dcmtk-" });
  try {
    await Deno.writeFile(join(dir, "in.dcm"), src);
    await run(tool, [...args, join(dir, "in.dcm"), join(dir, "out.dcm")]);
    return await Deno.readFile(join(dir, "out.dcm")) as Bytes;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The naturalized dataset and meta of a Part 10 file. */
export function naturalize(bytes: Uint8Array): {
  dataset: Record<string, unknown>;
  meta: Record<string, unknown>;
} {
  const copy = bytes.slice().buffer;
  const dict = DicomMessage.readFile(copy);
  return {
    dataset: DicomMetaDictionary.naturalizeDataset(dict.dict),
    meta: DicomMetaDictionary.naturalizeDataset(dict.meta),
  };
}

/** One encapsulated Pixel Data element (explicit VR little endian) holding the frames. */
export function encapsulatedPixelData(
  frames: Uint8Array[],
  { offsetTable = true }: { offsetTable?: boolean } = {},
): Uint8Array {
  const padded = frames.map((f) => {
    if (f.length % 2 === 0) return f;
    const p = new Uint8Array(f.length + 1);
    p.set(f);
    return p;
  });
  const tableLength = offsetTable ? 4 * frames.length : 0;
  const size = 12 + 8 + tableLength + padded.reduce((n, f) => n + 8 + f.length, 0) + 8;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let at = 0;
  const u16 = (x: number) => (v.setUint16(at, x, true), at += 2);
  const u32 = (x: number) => (v.setUint32(at, x, true), at += 4);
  u16(0x7fe0), u16(0x0010), out.set([0x4f, 0x42], at), at += 2, u16(0), u32(0xffffffff);
  u16(0xfffe), u16(0xe000), u32(tableLength);
  let offset = 0;
  for (const f of padded) {
    if (offsetTable) u32(offset);
    offset += 8 + f.length;
  }
  for (const f of padded) {
    u16(0xfffe), u16(0xe000), u32(f.length);
    out.set(f, at);
    at += f.length;
  }
  u16(0xfffe), u16(0xe0dd), u32(0);
  return out;
}

/**
 * Rewrites an uncompressed file with encapsulated frames.
 * @param overrides attributes to change (PhotometricInterpretation for YBR_RCT…)
 */
export function encapsulate(
  src: Uint8Array,
  frames: Uint8Array[],
  transferSyntax: string,
  overrides: Record<string, unknown> = {},
  options: { offsetTable?: boolean } = {},
): Bytes {
  const { dataset, meta } = naturalize(src);
  delete dataset.PixelData;
  if (frames.length > 1) dataset.NumberOfFrames = String(frames.length);
  Object.assign(dataset, overrides);
  const dict = new DicomDict(
    DicomMetaDictionary.denaturalizeDataset({ ...meta, TransferSyntaxUID: "1.2.840.10008.1.2.1" }),
  );
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  const head = new Uint8Array(dict.write());
  const tail = encapsulatedPixelData(frames, options);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return setTransferSyntax(out, transferSyntax);
}

/** Replaces the Transfer Syntax UID in the file meta (recomputing the group length). */
function setTransferSyntax(file: Uint8Array, uid: string): Bytes {
  const { meta } = naturalize(file);
  const metaBytes = new Uint8Array(
    new DicomDict(DicomMetaDictionary.denaturalizeDataset({ ...meta, TransferSyntaxUID: uid }))
      .write(),
  );
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const oldEnd = 132 + 12 + v.getUint32(140, true);
  const mv = new DataView(metaBytes.buffer);
  const newEnd = 132 + 12 + mv.getUint32(140, true);
  const out = new Uint8Array(newEnd + file.length - oldEnd);
  out.set(metaBytes.subarray(0, newEnd));
  out.set(file.subarray(oldEnd), newEnd);
  return out as Bytes;
}

/** The geometry of raw samples handed to an encoder. */
export interface RawFrame {
  width: number;
  height: number;
  components: 1 | 3;
  bits: 8 | 16;
  signed: boolean;
  /** interleaved samples */
  samples: ArrayLike<number>;
}

/** The samples of an 8-bit PNG (grey or RGB) as a raw frame for the encoders. */
export async function rawFrameOfPng(url: URL): Promise<RawFrame> {
  const png = decodePng(await Deno.readFile(url));
  return {
    width: png.width,
    height: png.height,
    components: png.channels as 1 | 3,
    bits: 8,
    signed: false,
    samples: png.data,
  };
}

/** A JPEG 2000 codestream made with `opj_compress` (lossless unless `rate` is given). */
export async function opjCompress(
  f: RawFrame,
  { rate, irreversible = false }: { rate?: number; irreversible?: boolean } = {},
): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-opj-" });
  try {
    // .rawl: little endian, interleaved
    const bytesPer = f.bits / 8;
    const raw = new Uint8Array(f.samples.length * bytesPer);
    const v = new DataView(raw.buffer);
    for (let i = 0; i < f.samples.length; i++) {
      if (bytesPer === 1) raw[i] = f.samples[i] & 0xff;
      else v.setUint16(2 * i, f.samples[i] & 0xffff, true);
    }
    // opj_compress reads .rawl component-planar: convert
    const planar = new Uint8Array(raw.length);
    const n = f.width * f.height;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < f.components; c++) {
        for (let b = 0; b < bytesPer; b++) {
          planar[(c * n + i) * bytesPer + b] = raw[(i * f.components + c) * bytesPer + b];
        }
      }
    }
    await Deno.writeFile(join(dir, "in.rawl"), planar);
    await run("opj_compress", [
      "-i",
      join(dir, "in.rawl"),
      "-o",
      join(dir, "out.j2k"),
      "-F",
      `${f.width},${f.height},${f.components},${f.bits},${f.signed ? "s" : "u"}`,
      ...(rate ? ["-r", String(rate)] : []),
      ...(irreversible ? ["-I"] : []),
      ...(f.components === 3 ? ["-mct", "1"] : []),
    ]);
    return await Deno.readFile(join(dir, "out.j2k"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface HtEncoder {
  getDecodedBuffer(info: Record<string, unknown>): Uint8Array;
  getEncodedBuffer(): Uint8Array;
  encode(): void;
  setQuality(reversible: boolean, quantizationStep: number): void;
  setProgressionOrder(order: number): void;
  delete(): void;
}

/** An HTJ2K codestream made with OpenJPH's encoder (lossless unless `quantization`). */
export async function htj2kEncode(
  f: RawFrame,
  { quantization, rpcl = false }: { quantization?: number; rpcl?: boolean } = {},
): Promise<Uint8Array> {
  const mod = await import("@cornerstonejs/codec-openjph/wasmjs");
  const codec = await (mod as unknown as {
    default: () => Promise<{ HTJ2KEncoder: new () => HtEncoder }>;
  }).default();
  const encoder = new codec.HTJ2KEncoder();
  try {
    const buf = encoder.getDecodedBuffer({
      width: f.width,
      height: f.height,
      bitsPerSample: f.bits,
      componentCount: f.components,
      isSigned: f.signed,
      isUsingColorTransform: f.components === 3,
    });
    const typed = f.bits === 8
      ? buf
      : f.signed
      ? new Int16Array(buf.buffer, buf.byteOffset, f.samples.length)
      : new Uint16Array(buf.buffer, buf.byteOffset, f.samples.length);
    for (let i = 0; i < f.samples.length; i++) typed[i] = f.samples[i];
    if (quantization !== undefined) encoder.setQuality(false, quantization);
    if (rpcl) encoder.setProgressionOrder(2);
    encoder.encode();
    return encoder.getEncodedBuffer().slice();
  } finally {
    encoder.delete();
  }
}

/** Transfer syntax UIDs of the compressed twins. */
export const COMPRESSED_TS = {
  jpegBaseline: "1.2.840.10008.1.2.4.50",
  jpegExtended: "1.2.840.10008.1.2.4.51",
  jpegLossless: "1.2.840.10008.1.2.4.57",
  jpegLosslessSv1: "1.2.840.10008.1.2.4.70",
  jpegLs: "1.2.840.10008.1.2.4.80",
  jpegLsNear: "1.2.840.10008.1.2.4.81",
  j2kLossless: "1.2.840.10008.1.2.4.90",
  j2k: "1.2.840.10008.1.2.4.91",
  htj2kLossless: "1.2.840.10008.1.2.4.201",
  htj2kRpcl: "1.2.840.10008.1.2.4.202",
  htj2k: "1.2.840.10008.1.2.4.203",
  rle: "1.2.840.10008.1.2.5",
} as const;

/**
 * Every compressed twin of an uncompressed single-frame file whose raw samples are `f`
 * (8-bit sources get the lossy JPEG syntaxes too; 16-bit ones only the lossless ones and
 * lossy JPEG-LS/J2K/HTJ2K).
 */
export async function compressedTwins(
  src: Bytes,
  f: RawFrame,
  { lossy = true }: { lossy?: boolean } = {},
): Promise<CompressedTwin[]> {
  const T = COMPRESSED_TS;
  const colour = f.components === 3;
  const twins: CompressedTwin[] = [];
  const add = (name: string, transferSyntax: string, lossless: boolean, bytes: Bytes) =>
    twins.push({ name, transferSyntax, lossless, bytes });
  if (!lossy) {
    add("dcmcjpeg +el", T.jpegLossless, true, await dcmtk(src, "dcmcjpeg", ["+el"]));
    add("dcmcjpeg +e1", T.jpegLosslessSv1, true, await dcmtk(src, "dcmcjpeg", ["+e1"]));
    add("dcmcjpls +el", T.jpegLs, true, await dcmtk(src, "dcmcjpls", ["+el"]));
    add("dcmcrle", T.rle, true, await dcmtk(src, "dcmcrle", []));
    add(
      "opj_compress",
      T.j2kLossless,
      true,
      encapsulate(src, [await opjCompress(f)], T.j2kLossless),
    );
    add(
      "openjph",
      T.htj2kLossless,
      true,
      encapsulate(src, [await htj2kEncode(f)], T.htj2kLossless),
    );
    return twins;
  }
  if (f.bits === 8) {
    add("dcmcjpeg +eb", T.jpegBaseline, false, await dcmtk(src, "dcmcjpeg", ["+eb"]));
    add("dcmcjpeg +ee", T.jpegExtended, false, await dcmtk(src, "dcmcjpeg", ["+ee"]));
  }
  add("dcmcjpeg +el", T.jpegLossless, true, await dcmtk(src, "dcmcjpeg", ["+el"]));
  add("dcmcjpeg +e1", T.jpegLosslessSv1, true, await dcmtk(src, "dcmcjpeg", ["+e1"]));
  add("dcmcjpls +el", T.jpegLs, true, await dcmtk(src, "dcmcjpls", ["+el"]));
  add("dcmcjpls +en +md 1", T.jpegLsNear, false, await dcmtk(src, "dcmcjpls", ["+en", "+md", "1"]));
  add("dcmcrle", T.rle, true, await dcmtk(src, "dcmcrle", []));
  const rct = colour ? { PhotometricInterpretation: "YBR_RCT", PlanarConfiguration: 0 } : {};
  const ict = colour ? { PhotometricInterpretation: "YBR_ICT", PlanarConfiguration: 0 } : {};
  const lossyFlag = { LossyImageCompression: "01" };
  add(
    "opj_compress",
    T.j2kLossless,
    true,
    encapsulate(src, [await opjCompress(f)], T.j2kLossless, rct),
  );
  add(
    "opj_compress -r 5 -I",
    T.j2k,
    false,
    encapsulate(src, [await opjCompress(f, { rate: 5, irreversible: true })], T.j2k, {
      ...ict,
      ...lossyFlag,
    }),
  );
  add(
    "openjph",
    T.htj2kLossless,
    true,
    encapsulate(src, [await htj2kEncode(f)], T.htj2kLossless, rct),
  );
  add(
    "openjph RPCL",
    T.htj2kRpcl,
    true,
    encapsulate(src, [await htj2kEncode(f, { rpcl: true })], T.htj2kRpcl, rct),
  );
  add(
    "openjph lossy",
    T.htj2k,
    false,
    encapsulate(src, [await htj2kEncode(f, { quantization: 0.005 })], T.htj2k, {
      ...ict,
      ...lossyFlag,
    }),
  );
  return twins;
}
