/**
 * A received C-STORE data set as a DICOM Part 10 file: the File Meta Information
 * (PS3.10 7.1: group 0002, Explicit VR Little Endian) written in front of the data set
 * bytes exactly as they arrived — no parse and no re-encode, so deflated and compressed
 * data sets stay as they were sent. Six elements, written by hand: dcmjs would have to
 * read and write the whole data set to add them.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";

const encoder = new TextEncoder();

function element(group: number, el: number, vr: string, value: Uint8Array): Uint8Array {
  const long = vr === "OB";
  const out = new Uint8Array((long ? 12 : 8) + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, group, true);
  view.setUint16(2, el, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, value.length, true);
  else view.setUint16(6, value.length, true);
  out.set(value, long ? 12 : 8);
  return out;
}

function text(value: string, pad: number): Uint8Array {
  const bytes = encoder.encode(value);
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = pad;
  return out;
}

/** This software's implementation class UID and version name (as the SEG writer uses). */
export const IMPLEMENTATION_CLASS_UID = "2.25.185847319563429938137205596200767249266";
/** This software's implementation version name (DIMSE associations and file meta). */
export const IMPLEMENTATION_VERSION = "TINYUNET_EDGE";

/**
 * Puts a File Meta Information header in front of a data set.
 * @param dataset the data set bytes in `transferSyntax`, whole or as the chunks that
 *   arrived (copied once, into the file)
 */
export function part10(
  dataset: Uint8Array | readonly Uint8Array[],
  sopClassUid: string,
  sopInstanceUid: string,
  transferSyntax: string,
): Uint8Array {
  const elements = [
    element(2, 0x0001, "OB", new Uint8Array([0, 1])),
    element(2, 0x0002, "UI", text(sopClassUid, 0)),
    element(2, 0x0003, "UI", text(sopInstanceUid, 0)),
    element(2, 0x0010, "UI", text(transferSyntax, 0)),
    element(2, 0x0012, "UI", text(IMPLEMENTATION_CLASS_UID, 0)),
    element(2, 0x0013, "SH", text(IMPLEMENTATION_VERSION, 0x20)),
  ];
  const groupLength = elements.reduce((n, e) => n + e.length, 0);
  const lengthValue = new Uint8Array(4);
  new DataView(lengthValue.buffer).setUint32(0, groupLength, true);
  const head = element(2, 0x0000, "UL", lengthValue);
  const chunks = dataset instanceof Uint8Array ? [dataset] : dataset;
  return concatBytes([new Uint8Array(128), encoder.encode("DICM"), head, ...elements, ...chunks]);
}
