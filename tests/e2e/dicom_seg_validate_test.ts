/**
 * DICOM SEG checked by others' tools: dciodvfy reports no Error on the SEG of awkward
 * sources (old-style dates, a frame of reference with plane geometry, multi-frame,
 * big endian, other character sets), and names in ISO 2022 (Japanese, Korean), Latin-1,
 * GB18030 and UTF-8 read back with pydicom and dcmdump exactly as in the source.
 */
import assert from "node:assert/strict";
import { insertRawElements } from "../../src/outputs/dicom_raw_elements.ts";
import { makeDicom, pngAsDicom, testUid, TS } from "../helpers/dicom.ts";
import { dciodvfy, dcmdumpValue, pydicomValues } from "../helpers/dicom_validate.ts";
import { HC18_SAMPLE } from "../helpers/images.ts";
import { fixtureServer } from "../helpers/model_repo.ts";

const MODELS = [{
  name: "head",
  net: { channels: 1 as const },
  card: {
    label: "fetal head",
    trained: true,
    segment: {
      category: { code: "123037004", scheme: "SCT", meaning: "Anatomical Structure" },
      type: { code: "69536005", scheme: "SCT", meaning: "Head" },
    },
  },
}];

const ascii = (s: string) => new TextEncoder().encode(s);
/** PS3.5 H.3.1 and I.2 example names. */
const JAPANESE = new Uint8Array([
  ...ascii("Yamada^Tarou="),
  ...[0x1b, 0x24, 0x42, 0x3b, 0x33, 0x45, 0x44, 0x1b, 0x28, 0x42, 0x5e],
  ...[0x1b, 0x24, 0x42, 0x42, 0x40, 0x4f, 0x3a, 0x1b, 0x28, 0x42, 0x3d],
  ...[0x1b, 0x24, 0x42, 0x24, 0x64, 0x24, 0x5e, 0x24, 0x40, 0x1b, 0x28, 0x42, 0x5e],
  ...[0x1b, 0x24, 0x42, 0x24, 0x3f, 0x24, 0x6d, 0x24, 0x26, 0x1b, 0x28, 0x42],
]);
const KOREAN = new Uint8Array([
  ...ascii("Hong^Gildong="),
  ...[0x1b, 0x24, 0x29, 0x43, 0xfb, 0xf3, 0x5e, 0x1b, 0x24, 0x29, 0x43, 0xd1, 0xce, 0xd4, 0xd7],
  ...[
    0x3d,
    0x1b,
    0x24,
    0x29,
    0x43,
    0xc8,
    0xab,
    0x5e,
    0x1b,
    0x24,
    0x29,
    0x43,
    0xb1,
    0xe6,
    0xb5,
    0xbf,
  ],
]);

/** A source with raw (possibly invalid) values put in after dcmjs wrote it. */
async function source(
  raw: Record<number, [vr: string, bytes: Uint8Array]>,
  attributes: Record<string, unknown> = {},
): Promise<Uint8Array> {
  const file = await pngAsDicom(HC18_SAMPLE, { attributes: { Modality: "US", ...attributes } });
  return insertRawElements(
    file,
    Object.entries(raw).map(([tag, [vr, bytes]]) => ({ tag: Number(tag), vr, bytes })),
  );
}

async function seg(
  s: { app: { request: (p: string, i: RequestInit) => Response | Promise<Response> } },
  dicom: Uint8Array,
  query = "",
) {
  const res = await s.app.request(`/v1/models/head/segment?format=dicom-seg${query}`, {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body: dicom as BodyInit,
  });
  assert.equal(res.status, 200, await res.clone().text());
  return new Uint8Array(await res.arrayBuffer());
}

Deno.test("dciodvfy: no Error on the SEG of awkward sources; invalid DA/TM/CS normalised or empty", async () => {
  await using s = await fixtureServer(MODELS);
  const cases: [string, Uint8Array, string][] = [
    ["plain secondary capture", await source({}), ""],
    [
      "GE-style old date/time, bad sex (and no patient/study Type 2 values)",
      await source({
        0x00080020: ["DA", ascii("1997.04.24")],
        0x00080030: ["TM", ascii("11:20:00")],
        0x00100040: ["CS", ascii("Falso")],
        0x00100030: ["DA", ascii("19971340")],
      }),
      "",
    ],
    [
      "CT-like: frame of reference, orientation, position, spacing",
      makeDicom({
        rows: 64,
        columns: 64,
        pixels: Array.from({ length: 4096 }, (_, i) => (i * 7) % 2000),
        bitsAllocated: 16,
        rescale: [1, -1024],
        windows: [[40, 400]],
        pixelSpacing: [0.7, 0.7],
        attributes: {
          Modality: "CT",
          SOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
          FrameOfReferenceUID: testUid(),
          ImagePositionPatient: ["-100", "-100", "20"],
          ImageOrientationPatient: ["1", "0", "0", "0", "1", "0"],
          SliceThickness: "2.5",
          PatientOrientation: ["L", "P"],
        },
      }),
      "",
    ],
    [
      "multi-frame, frame 2",
      makeDicom({
        rows: 32,
        columns: 32,
        pixels: Array.from({ length: 3 * 1024 }, (_, i) => i % 255),
        frames: 3,
        attributes: { SOPClassUID: "1.2.840.10008.5.1.4.1.1.7.2" },
      }),
      "&frame=2",
    ],
    [
      "explicit big endian",
      makeDicom({
        rows: 16,
        columns: 16,
        pixels: Array.from({ length: 256 }, (_, i) => i * 100),
        bitsAllocated: 16,
        transferSyntax: TS.explicitBE,
      }),
      "",
    ],
    [
      "ISO 2022 Japanese name",
      await source({ 0x00100010: ["PN", JAPANESE] }, {
        SpecificCharacterSet: ["", "ISO 2022 IR 87"],
      }),
      "",
    ],
  ];
  for (const [name, dicom, query] of cases) {
    const out = await seg(s, dicom, query);
    const { errors } = await dciodvfy(out);
    assert.deepEqual(errors, [], `${name}: dciodvfy errors`);
  }
  const [old] = await pydicomValues([await seg(s, cases[1][1])], [
    "StudyDate",
    "StudyTime",
    "PatientSex",
    "PatientBirthDate",
    "AccessionNumber",
  ]);
  assert.deepEqual(old, {
    StudyDate: "19970424",
    StudyTime: "112000",
    PatientSex: "",
    PatientBirthDate: "",
    AccessionNumber: "",
  });
});

Deno.test("names round-trip in the source's character set (pydicom and dcmdump read the SEG as the source)", async () => {
  await using s = await fixtureServer(MODELS);
  const cases: [string, string[], Uint8Array, string][] = [
    ["Japanese ISO 2022", ["", "ISO 2022 IR 87"], JAPANESE, "Yamada^Tarou=山田^太郎=やまだ^たろう"],
    ["Korean ISO 2022", ["", "ISO 2022 IR 149"], KOREAN, "Hong^Gildong=洪^吉洞=홍^길동"],
    [
      "Latin-1",
      ["ISO_IR 100"],
      new Uint8Array([...ascii("Buc^J"), 0xe9, ...ascii("r"), 0xf4, ...ascii("me")]),
      "Buc^Jérôme",
    ],
    [
      "GB18030",
      ["GB18030"],
      new Uint8Array([
        0x57,
        0x61,
        0x6e,
        0x67,
        0x5e,
        0x58,
        0x69,
        0x61,
        0x6f,
        0x44,
        0x6f,
        0x6e,
        0x67,
        0x3d,
        0xcd,
        0xf5,
        0x5e,
        0xd0,
        0xa1,
        0xb6,
        0xab,
      ]),
      "Wang^XiaoDong=王^小东",
    ],
    ["UTF-8", ["ISO_IR 192"], ascii("Ŝŵŷ^Ĉĥô"), "Ŝŵŷ^Ĉĥô"],
  ];
  const sources: Uint8Array[] = [], segs: Uint8Array[] = [];
  for (const [, charset, bytes] of cases) {
    const src = await source(
      { 0x00100010: ["PN", bytes], 0x00080090: ["PN", bytes] },
      { SpecificCharacterSet: charset },
    );
    sources.push(src);
    segs.push(await seg(s, src));
  }
  const keys = ["PatientName", "ReferringPhysicianName", "SpecificCharacterSet"];
  const [fromSources, fromSegs] = await Promise.all([
    pydicomValues(sources, keys),
    pydicomValues(segs, keys),
  ]);
  for (const [i, [name, , , expected]] of cases.entries()) {
    assert.equal(fromSources[i].PatientName, expected, `${name}: pydicom reads the source`);
    assert.equal(fromSegs[i].PatientName, expected, `${name}: pydicom reads the SEG`);
    assert.equal(fromSegs[i].ReferringPhysicianName, expected, name);
    assert.equal(fromSegs[i].SpecificCharacterSet, fromSources[i].SpecificCharacterSet, name);
    assert.equal(
      await dcmdumpValue(segs[i], "PatientName"),
      await dcmdumpValue(sources[i], "PatientName"),
      `${name}: dcmdump`,
    );
  }
});
