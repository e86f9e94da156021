/**
 * DICOM SEG round trip: written by the server with dcmjs, read back with a second parser
 * (dicom-parser) and checked against the source and the mask PNG of the same request.
 */
import assert from "node:assert/strict";
import dicomParser from "dicom-parser";
import { decode as decodePng } from "fast-png";
import { fixtureServer } from "../../helpers/model_repo.ts";
import { makeDicom, pngAsDicom, SC_SOP_CLASS, testUid } from "../../helpers/dicom.ts";
import { HC18_SAMPLE, ISIC_SAMPLE, readSample } from "../../helpers/images.ts";
import { dicomSeg, newSegUids, packBits, SEG_SOP_CLASS } from "../../../src/outputs/dicom_seg.ts";
import { readDicomSource } from "../../../src/imaging/dicom_source.ts";
import type { Segmentation } from "../../../src/imaging/postprocess.ts";

type DataSet = {
  string(tag: string, i?: number): string | undefined;
  uint16(tag: string): number | undefined;
  intString(tag: string): number | undefined;
  attributeTag(tag: string): string | undefined;
  elements: Record<
    string,
    { dataOffset: number; length: number; vr?: string; items?: { dataSet: DataSet }[] }
  >;
  byteArray: Uint8Array;
};
const parse = (bytes: Uint8Array) =>
  (dicomParser as unknown as { parseDicom(b: Uint8Array): DataSet }).parseDicom(bytes);
const item = (ds: DataSet, tag: string, i = 0): DataSet => {
  const items = ds.elements[tag]?.items;
  assert.ok(items && items[i], `sequence ${tag} item ${i} missing`);
  return items[i].dataSet;
};
const utf8 = (ds: DataSet, tag: string) => {
  const el = ds.elements[tag];
  return new TextDecoder().decode(ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length))
    .replace(/[\0 ]+$/, "");
};

/** Unpacks DICOM bit-packed pixel data (LSB first), independently of the writer. */
function unpack(bytes: Uint8Array, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (bytes[i >> 3] >> (i & 7)) & 1);
}

const SOURCE = {
  PatientName: "Ærø^Søren",
  PatientID: "PID-42",
  PatientBirthDate: "19700101",
  PatientSex: "O",
  StudyDate: "20240102",
  StudyTime: "101500",
  AccessionNumber: "ACC-7",
  ReferringPhysicianName: "Ref^Doc",
  StudyID: "S1",
  FrameOfReferenceUID: testUid(),
};

async function segOf(s: Awaited<ReturnType<typeof fixtureServer>>, bytes: Uint8Array, query = "") {
  const post = (format: string) =>
    s.app.request(`/v1/models/lesion/segment?format=${format}${query}`, {
      method: "POST",
      headers: { "content-type": "application/dicom" },
      body: bytes as Uint8Array<ArrayBuffer>,
    });
  const res = await post("dicom-seg");
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "application/dicom");
  const seg = new Uint8Array(await res.arrayBuffer());
  const mask = decodePng(new Uint8Array(await (await post("png")).arrayBuffer()));
  return { seg, mask };
}

Deno.test("dicom-seg: SOP class, copied patient/study, references, segment and bit-packed mask read back with dicom-parser", async () => {
  await using s = await fixtureServer([{
    name: "lesion",
    card: { threshold: 0.55, label: "skin lesion" },
  }]);
  const sourceBytes = await pngAsDicom(ISIC_SAMPLE, {
    pixelSpacing: [0.1, 0.1],
    attributes: SOURCE,
  });
  const source = parse(sourceBytes);
  const { seg, mask } = await segOf(s, sourceBytes);
  const ds = parse(seg);

  assert.equal(ds.string("x00020010"), "1.2.840.10008.1.2.1");
  assert.equal(ds.string("x00080016"), SEG_SOP_CLASS);
  assert.equal(ds.string("x00020002"), SEG_SOP_CLASS);
  assert.equal(ds.string("x00080060"), "SEG");
  assert.equal(ds.string("x00620001"), "BINARY");
  for (const tag of ["x00080018", "x0020000e"]) {
    assert.match(ds.string(tag) ?? "", /^2\.25\.\d+$/, tag);
    assert.notEqual(ds.string(tag), source.string(tag), `${tag} must be new`);
  }
  assert.equal(ds.string("x00020003"), ds.string("x00080018"));
  assert.match(ds.string("x0008103e") ?? "", /research use only/i);

  // patient and study copied (text in UTF-8), same study and frame of reference
  assert.equal(utf8(ds, "x00100010"), SOURCE.PatientName);
  for (
    const [tag, value] of [
      ["x00100020", "PID-42"],
      ["x00100030", "19700101"],
      ["x00100040", "O"],
      ["x00080020", "20240102"],
      ["x00080030", "101500"],
      ["x00080050", "ACC-7"],
      ["x00200010", "S1"],
    ]
  ) {
    assert.equal(ds.string(tag), value, tag);
  }
  assert.equal(utf8(ds, "x00080090"), "Ref^Doc");
  assert.equal(ds.string("x0020000d"), source.string("x0020000d"));
  assert.equal(ds.string("x00200052"), SOURCE.FrameOfReferenceUID);

  // the source instance is referenced from the series and from the frame's derivation
  const series = item(ds, "x00081115");
  assert.equal(series.string("x0020000e"), source.string("x0020000e"));
  const instance = item(series, "x0008114a");
  assert.equal(instance.string("x00081150"), SC_SOP_CLASS);
  assert.equal(instance.string("x00081155"), source.string("x00080018"));
  const frame = item(ds, "x52009230");
  const sourceImage = item(item(frame, "x00089124"), "x00082112");
  assert.equal(sourceImage.string("x00081150"), SC_SOP_CLASS);
  assert.equal(sourceImage.string("x00081155"), source.string("x00080018"));
  assert.equal(item(frame, "x0062000a").uint16("x0062000b"), 1);

  // one segment: number 1, the card's label, automatic, the model named
  const segment = item(ds, "x00620002");
  assert.equal(ds.elements.x00620002.items?.length, 1);
  assert.equal(segment.uint16("x00620004"), 1);
  assert.equal(segment.string("x00620005"), "skin lesion");
  assert.equal(segment.string("x00620008"), "AUTOMATIC");
  assert.equal(segment.string("x00620009"), "lesion 1");
  assert.match(segment.string("x00620006") ?? "", /UNTRAINED/);
  assert.equal(item(item(ds, "x52009229"), "x00289110").string("x00280030"), "0.1\\0.1");

  // the pixels: 1 bit, the mask PNG of the same request, bit for bit
  assert.deepEqual([
    ds.uint16("x00280010"),
    ds.uint16("x00280011"),
    ds.uint16("x00280100"),
    ds.uint16("x00280101"),
  ], [mask.height, mask.width, 1, 1]);
  assert.equal(ds.intString("x00280008"), 1);
  const pd = ds.elements.x7fe00010;
  const n = mask.width * mask.height;
  assert.ok(pd.length >= Math.ceil(n / 8));
  const bits = unpack(ds.byteArray.subarray(pd.dataOffset, pd.dataOffset + pd.length), n);
  const expected = Array.from(mask.data, (v) => (v ? 1 : 0));
  assert.ok(
    expected.some((v) => v === 1) && expected.some((v) => v === 0),
    "the fixture mask is partial",
  );
  assert.deepEqual(bits, expected);
});

Deno.test("dicom-seg of a frame of a multi-frame source references that frame", async () => {
  await using s = await fixtureServer([{ name: "lesion", net: { channels: 1 } }]);
  const pixels = [...Array(64).fill(10), ...Array(64).fill(200)];
  const bytes = makeDicom({ rows: 8, columns: 8, pixels, frames: 2 });
  const { seg } = await segOf(s, bytes, "&frame=2");
  const frame = item(parse(seg), "x52009230");
  assert.equal(item(item(frame, "x00089124"), "x00082112").intString("x00081160"), 2);
});

Deno.test("dicom-seg needs a DICOM input: PNG is 422 and names the reason", async () => {
  await using s = await fixtureServer();
  const res = await s.app.request("/v1/segment?format=dicom-seg", {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: await readSample(HC18_SAMPLE),
  });
  assert.equal(res.status, 422);
  const body = await res.json();
  assert.equal(body.code, "unsupported_image");
  assert.match(body.error, /needs a DICOM input/);
});

Deno.test("packBits: least significant bit first, even length", () => {
  const packed = packBits(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 1, 1]));
  assert.deepEqual(Array.from(packed), [0b10000001, 0b1]);
  assert.equal(packBits(new Uint8Array(17)).length, 4);
});

Deno.test("dicomSeg: the UIDs and content time it is given, fresh UIDs otherwise", () => {
  const source = readDicomSource(
    makeDicom({ rows: 2, columns: 3, pixels: [1, 2, 3, 4, 5, 6] }),
    1e6,
  );
  const seg = { mask: Uint8Array.of(1, 0, 0, 1, 1, 0), width: 3, height: 2 } as Segmentation;
  const algorithm = {
    modelName: "m",
    modelVersion: "1",
    label: "x",
    trained: true,
    softwareVersion: "t",
  };
  const uids = newSegUids();
  const ds = parse(
    dicomSeg(source, seg, algorithm, { uids, now: new Date(Date.UTC(2031, 0, 2, 3, 4, 5)) }),
  );
  assert.equal(ds.string("x00080018"), uids.sopInstanceUid);
  assert.equal(ds.string("x0020000e"), uids.seriesInstanceUid);
  assert.equal(ds.string("x00080023"), "20310102");
  assert.equal(ds.string("x00080033"), "030405");
  const fresh = parse(dicomSeg(source, seg, algorithm));
  assert.notEqual(fresh.string("x00080018"), uids.sopInstanceUid);
  assert.match(fresh.string("x00080018") ?? "", /^[0-9.]+$/);
});
