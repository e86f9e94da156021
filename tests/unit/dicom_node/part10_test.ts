import assert from "node:assert/strict";
import { part10 } from "../../../src/dicom_node/part10.ts";
import { readFacts } from "../../../src/dicom_node/segment_instance.ts";
import { decodeImage } from "../../../src/imaging/decode.ts";
import { deflateDicom, makeDicom, TS } from "../../helpers/dicom.ts";

/** The data set of a Part 10 file (what a C-STORE carries). */
function datasetOf(p10: Uint8Array): Uint8Array {
  const view = new DataView(p10.buffer, p10.byteOffset, p10.byteLength);
  return p10.subarray(132 + 12 + view.getUint32(140, true));
}

Deno.test("part10: a C-STORE data set framed as a file decodes like the original", async () => {
  const pixels = Array.from({ length: 24 * 16 }, (_, i) => i % 251);
  for (const ts of [TS.explicitLE, TS.implicitLE, TS.explicitBE]) {
    const original = makeDicom({ rows: 16, columns: 24, pixels, transferSyntax: ts });
    const facts = readFacts(original, 1e6);
    const framed = part10(datasetOf(original), facts.sopClassUid, facts.sopInstanceUid, ts);
    const set = datasetOf(original);
    const cut = [set.subarray(0, 7), set.subarray(7, 100), set.subarray(100)];
    assert.deepEqual(
      part10(cut, facts.sopClassUid, facts.sopInstanceUid, ts),
      framed,
      "framed from the chunks as they arrived = framed whole",
    );
    const again = readFacts(framed, 1e6);
    assert.deepEqual(again, facts);
    const a = await decodeImage(original, "application/dicom", { maxPixels: 1e6 });
    const b = await decodeImage(framed, "application/dicom", { maxPixels: 1e6 });
    assert.deepEqual(b.data, a.data);
  }
  const deflated = await deflateDicom(makeDicom({ rows: 16, columns: 24, pixels }));
  const facts = readFacts(deflated, 1e6);
  const framed = part10(
    datasetOf(deflated),
    facts.sopClassUid,
    facts.sopInstanceUid,
    facts.transferSyntax,
  );
  assert.equal(readFacts(framed, 1e6).transferSyntax, "1.2.840.10008.1.2.1.99");
});
