/** DICOM through the HTTP segment route: raw and multipart bodies, mm², window, errors. */
import assert from "node:assert/strict";
import { decode as decodePng } from "fast-png";
import { fixtureServer } from "../../../helpers/model_repo.ts";
import { makeDicom, pngAsDicom, TS } from "../../../helpers/dicom.ts";
import { HC18_SAMPLE } from "../../../helpers/images.ts";

const GREY = [{ name: "head", net: { channels: 1 as const } }];

function post(
  s: { app: { request: (p: string, i: RequestInit) => Response | Promise<Response> } },
  path: string,
  body: Uint8Array | FormData,
  type?: string,
) {
  return s.app.request(path, {
    method: "POST",
    headers: type ? { "content-type": type } : {},
    body: body as BodyInit,
  });
}

Deno.test("DICOM with Pixel Spacing → JSON area_mm2 = pixel_area × row × column spacing (raw and multipart)", async () => {
  await using s = await fixtureServer(GREY);
  const dicom = await pngAsDicom(HC18_SAMPLE, { pixelSpacing: [0.2, 0.15] });
  const raw =
    await (await post(s, "/v1/models/head/segment?format=json", dicom, "application/dicom")).json();
  assert.deepEqual([raw.width, raw.height], [256, 173]);
  assert.deepEqual(raw.pixel_spacing_mm, [0.2, 0.15]);
  assert.ok(Math.abs(raw.area_mm2 - raw.pixel_area * 0.2 * 0.15) < 1e-9);
  const form = new FormData();
  form.append("image", new File([dicom], "head.dcm", { type: "application/dicom" }));
  const multipart = await (await post(s, "/v1/models/head/segment?format=json", form)).json();
  assert.equal(multipart.pixel_area, raw.pixel_area);
  assert.equal(multipart.rle.counts, raw.rle.counts);
});

Deno.test("?window changes the windowed image the overlay is drawn on", async () => {
  await using s = await fixtureServer(GREY);
  const stored = Array.from({ length: 64 }, (_, i) => i * 16); // 0..1008 across an 8×8 image
  const dicom = makeDicom({
    rows: 8,
    columns: 8,
    pixels: stored,
    bitsAllocated: 16,
    windows: [[512, 1024]],
  });
  const render = async (query: string) => {
    const res = await post(
      s,
      `/v1/models/head/segment?format=overlay&opacity=0&outline=0${query}`,
      dicom,
      "application/dicom",
    );
    assert.equal(res.status, 200, await res.clone().text());
    return decodePng(new Uint8Array(await res.arrayBuffer())).data;
  };
  const linear = (x: number, c: number, w: number) =>
    x <= c - 0.5 - (w - 1) / 2
      ? 0
      : x > c - 0.5 + (w - 1) / 2
      ? 1
      : (x - (c - 0.5)) / (w - 1) + 0.5;
  const fileWindow = await render("");
  const narrow = await render("&window=100,50");
  for (let i = 0; i < 64; i++) {
    assert.ok(
      Math.abs(fileWindow[3 * i] - Math.round(255 * linear(stored[i], 512, 1024))) <= 1,
      `file window, pixel ${i}`,
    );
    assert.ok(
      Math.abs(narrow[3 * i] - Math.round(255 * linear(stored[i], 100, 50))) <= 1,
      `?window, pixel ${i}`,
    );
  }
});

Deno.test("DICOM errors through the route: 415 a syntax no codec decodes, 400 truncated/bad window, 422 multi-frame or no pixels", async () => {
  await using s = await fixtureServer(GREY);
  const ok = makeDicom({ rows: 4, columns: 4, pixels: Array(16).fill(9) });
  const cases: [string, Uint8Array, string | undefined, number, string, RegExp][] = [
    [
      "",
      makeDicom({ rows: 2, columns: 2, pixels: [1, 2, 3, 4], transferSyntax: TS.mpeg2 }),
      "application/dicom",
      415,
      "unsupported_transfer_syntax",
      /1\.2\.840\.10008\.1\.2\.4\.100 \(MPEG2/,
    ],
    ["", ok.subarray(0, ok.length - 7), "application/dicom", 400, "bad_dicom", /truncated/],
    ["", ok.subarray(0, 100), "application/dicom", 400, "bad_dicom", /not a valid DICOM/],
    [
      "",
      makeDicom({ rows: 1, columns: 2, pixels: [1, 2, 3, 4], frames: 2 }),
      undefined,
      422,
      "unsupported_image",
      /2 frames/,
    ],
    [
      "",
      makeDicom({ rows: 1, columns: 2, pixels: [], omitPixelData: true }),
      "application/dicom",
      422,
      "unsupported_image",
      /no Pixel Data/,
    ],
    ["?window=abc", ok, "application/dicom", 400, "bad_request", /center,width/],
    ["?window=10,0", ok, "application/dicom", 400, "bad_request", /center,width/],
    ["", ok, "image/png", 400, "bad_image", /content type says png but the bytes are dicom/],
  ];
  for (const [query, body, type, status, code, message] of cases) {
    const res = await post(s, `/v1/models/head/segment${query}`, body, type);
    const json = await res.json();
    assert.equal(res.status, status, JSON.stringify(json));
    assert.equal(json.code, code);
    assert.match(json.error, message);
  }
  const after = await post(s, "/v1/models/head/segment", ok, "application/dicom");
  assert.equal(after.status, 200, "the server still serves");
  await after.body?.cancel();
});
