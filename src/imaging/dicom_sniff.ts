/**
 * Recognises a DICOM Part 10 file by its signature, without loading the DICOM parser and
 * codecs: `decode.ts` sniffs every body with it, and only a DICOM body loads the rest.
 *
 * @module
 */

/** Whether the bytes are a DICOM Part 10 file ("DICM" after the 128-byte preamble). */
export function isDicom(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 &&
    bytes[131] === 0x4d;
}
