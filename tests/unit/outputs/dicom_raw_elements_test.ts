/** Raw elements put into a dcmjs-written file land in tag order, replace existing ones, and read back byte for byte. */
import assert from "node:assert/strict";
import dicomParser from "dicom-parser";
import { insertRawElements } from "../../../src/outputs/dicom_raw_elements.ts";
import { makeDicom } from "../../helpers/dicom.ts";

type DataSet = {
  elements: Record<string, { dataOffset: number; length: number }>;
  byteArray: Uint8Array;
  string(tag: string): string | undefined;
};
const parse = (b: Uint8Array) =>
  (dicomParser as unknown as { parseDicom(b: Uint8Array): DataSet }).parseDicom(b);

Deno.test("insertRawElements: inserts in tag order, replaces, pads to even length, keeps the rest", () => {
  const file = makeDicom({ rows: 2, columns: 2, pixels: [1, 2, 3, 4] });
  const latin1 = new Uint8Array([0x42, 0x75, 0x63, 0x5e, 0x4a, 0xe9, 0x72, 0xf4, 0x6d, 0x65, 0x21]);
  const out = insertRawElements(file, [
    { tag: 0x00100010, vr: "PN", bytes: latin1 }, // replaces the fixture's name
    { tag: 0x00080050, vr: "SH", bytes: new Uint8Array() }, // empty, inserted
    { tag: 0x00200010, vr: "SH", bytes: new TextEncoder().encode("S1") },
  ]);
  const ds = parse(out);
  const name = ds.elements.x00100010;
  assert.equal(name.length, 12, "odd value padded to even length");
  assert.deepEqual(
    Array.from(ds.byteArray.subarray(name.dataOffset, name.dataOffset + 11)),
    Array.from(latin1),
  );
  assert.equal(ds.byteArray[name.dataOffset + 11], 0x20);
  assert.equal(ds.elements.x00080050.length, 0);
  assert.equal(ds.string("x00200010"), "S1");
  const original = parse(file);
  for (const tag of ["x00080016", "x00080018", "x0020000d", "x00280010", "x7fe00010"]) {
    const a = original.elements[tag], b = ds.elements[tag];
    assert.deepEqual(
      Array.from(ds.byteArray.subarray(b.dataOffset, b.dataOffset + b.length)),
      Array.from(original.byteArray.subarray(a.dataOffset, a.dataOffset + a.length)),
      tag,
    );
  }
  // elements stay in ascending tag order
  const tags = Object.keys(ds.elements).map((t) => parseInt(t.slice(1), 16));
  const offsets = Object.values(ds.elements).map((e) => e.dataOffset);
  const byOffset = tags.map((t, i) => [offsets[i], t]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  assert.deepEqual(byOffset, [...byOffset].sort((a, b) => a - b));
});
