import assert from "node:assert/strict";
import { parseDicomFile, parseStats } from "../../../src/imaging/dicom_parse.ts";
import { maxInflatedBytes, readDicomInfo } from "../../../src/imaging/decode_dicom.ts";
import { readDicomSource } from "../../../src/imaging/dicom_source.ts";
import { makeDicom } from "../../helpers/dicom.ts";

Deno.test("dicom_parse: one buffer is parsed once for its UIDs and its image facts; equal bytes in another buffer parse again", () => {
  const bytes = makeDicom({ rows: 3, columns: 5, pixels: new Array(15).fill(9) });
  const maxPixels = 1e6;
  const before = { ...parseStats };
  const source = readDicomSource(bytes, maxInflatedBytes(maxPixels));
  const info = readDicomInfo(bytes, { maxPixels });
  assert.equal(info.frames, 1);
  assert.ok(source.sopInstanceUid);
  // a parse under another inflate limit is its own
  const again = parseDicomFile(bytes, 1234);
  assert.equal(again.dataSet.string("x00080018"), source.sopInstanceUid);
  const copy = parseDicomFile(bytes.slice(), maxInflatedBytes(maxPixels));
  assert.equal(copy.dataSet.string("x00080018"), source.sopInstanceUid);
  assert.equal(parseStats.reused - before.reused, 1, "the second read of the same buffer");
  assert.equal(parseStats.parsed - before.parsed, 3, "the first read, another limit, a copy");
});
