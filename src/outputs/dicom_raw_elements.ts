/**
 * Puts elements whose values are raw bytes into a Part 10 file that dcmjs wrote.
 *
 * dcmjs encodes every string as UTF-8, so text copied from a source in another Specific
 * Character Set (ISO 2022 with its escape sequences, Latin-1, GB18030…) would be
 * re-encoded or mangled. Copying the source's bytes unchanged keeps them valid in the
 * source's character set, which the derived object declares too. The file is written by
 * dcmjs without those elements; this inserts them at their place in tag order among the
 * top-level elements (found with dicom-parser), Explicit VR Little Endian, short-length
 * VRs only (PN, LO, SH, CS, DA, TM, LT, ST…).
 *
 * @module
 */
import dicomParser from "dicom-parser";
import { concatBytes } from "../bytes.ts";

/** One element to insert. */
export interface RawElement {
  /** (group << 16) | element */
  tag: number;
  /** a VR with a 2-byte length field */
  vr: string;
  /** the value, already in the file's character set (padded to even length here) */
  bytes: Uint8Array;
}

const LONG_VRS = new Set([
  "OB",
  "OD",
  "OF",
  "OL",
  "OV",
  "OW",
  "SQ",
  "SV",
  "UC",
  "UN",
  "UR",
  "UT",
  "UV",
]);

interface ParsedElement {
  tag: string;
  vr?: string;
  dataOffset: number;
}

function encode(e: RawElement): Uint8Array {
  if (LONG_VRS.has(e.vr)) throw new Error(`raw element VR ${e.vr} needs a long length`);
  const pad = e.vr === "UI" ? 0 : 0x20;
  const length = e.bytes.length + (e.bytes.length % 2);
  if (length > 0xffff) throw new Error(`raw element ${e.tag.toString(16)} is too long`);
  const out = new Uint8Array(8 + length);
  const v = new DataView(out.buffer);
  v.setUint16(0, e.tag >>> 16, true);
  v.setUint16(2, e.tag & 0xffff, true);
  out[4] = e.vr.charCodeAt(0);
  out[5] = e.vr.charCodeAt(1);
  v.setUint16(6, length, true);
  out.set(e.bytes, 8);
  if (length > e.bytes.length) out[8 + e.bytes.length] = pad;
  return out;
}

/**
 * Inserts (or replaces) top-level elements of an Explicit VR Little Endian Part 10 file.
 * @returns a new file
 */
export function insertRawElements(file: Uint8Array, elements: RawElement[]): Uint8Array {
  const ds = (dicomParser as unknown as {
    parseDicom(b: Uint8Array): { elements: Record<string, ParsedElement> };
  }).parseDicom(file);
  const tagOf = (t: string) => parseInt(t.slice(1), 16);
  const top = Object.values(ds.elements)
    .filter((e) => tagOf(e.tag) >= 0x00080000)
    .map((e) => ({
      tag: tagOf(e.tag),
      start: e.dataOffset - (LONG_VRS.has(e.vr ?? "") ? 12 : 8),
    }))
    .sort((a, b) => a.tag - b.tag);
  const bounds = top.map((e, i) => ({
    ...e,
    end: i + 1 < top.length ? top[i + 1].start : file.length,
  }));
  const inserts = [...elements].sort((a, b) => a.tag - b.tag);
  const parts: Uint8Array[] = [];
  const datasetStart = bounds.length > 0 ? bounds[0].start : file.length;
  parts.push(file.subarray(0, datasetStart));
  let k = 0;
  for (const e of bounds) {
    while (k < inserts.length && inserts[k].tag < e.tag) parts.push(encode(inserts[k++]));
    if (k < inserts.length && inserts[k].tag === e.tag) {
      parts.push(encode(inserts[k++])); // replaces dcmjs' element
      continue;
    }
    parts.push(file.subarray(e.start, e.end));
  }
  while (k < inserts.length) parts.push(encode(inserts[k++]));
  return concatBytes(parts);
}
