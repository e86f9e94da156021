/**
 * Compressed DICOM through the segment route with the shipped models: every transfer
 * syntax's twin (made with dcmtk, OpenJPEG, OpenJPH from the uncompressed file) gives
 * the same mask as the uncompressed file (lossless, with the card's clean-up) or one
 * within 1 % of the pixels (lossy: the network's mask, `postprocess=none` — on the hc18
 * sample the network finds two regions of near-equal size, and the keep-the-largest
 * clean-up turns a 0.2 % change into a swap of regions), and its DICOM SEG passes
 * dciodvfy with no Error. Also the modality guard.
 */
import assert from "node:assert/strict";
import { decode as decodePng } from "fast-png";
import { fileURLToPath } from "node:url";
import { createApp } from "../../mod.ts";
import { closeCodecWorker, codecWorkerRunning } from "../../src/imaging/dicom_codec_pool.ts";
import { pngAsDicom } from "../helpers/dicom.ts";
import { compressedTwins, dcmtk, rawFrameOfPng } from "../helpers/dicom_compress.ts";
import { dciodvfy } from "../helpers/dicom_validate.ts";
import { HC18_SAMPLE, ISIC_SAMPLE } from "../helpers/images.ts";
import { testConfig } from "../helpers/model_repo.ts";

const SHIPPED = fileURLToPath(new URL("../../models", import.meta.url));

async function shippedServer() {
  const server = createApp(testConfig(SHIPPED));
  await server.ready;
  return { ...server, [Symbol.asyncDispose]: () => server.registry.close() };
}

type App = { request: (p: string, i: RequestInit) => Response | Promise<Response> };

async function post(app: App, path: string, body: Uint8Array) {
  const res = await app.request(path, {
    method: "POST",
    headers: { "content-type": "application/dicom" },
    body: body as BodyInit,
  });
  return res;
}

async function mask(app: App, path: string, body: Uint8Array, query = ""): Promise<Uint8Array> {
  const res = await post(app, `${path}?format=png${query}`, body);
  assert.equal(res.status, 200, await res.clone().text());
  return decodePng(new Uint8Array(await res.arrayBuffer())).data as Uint8Array;
}

const SETS = [
  { model: "hc18", url: HC18_SAMPLE, modality: "US" },
  { model: "isic2017", url: ISIC_SAMPLE, modality: "XC" },
];

Deno.test("every compressed syntax: same mask as the uncompressed twin (lossy: within 1 %), SEG passes dciodvfy", async () => {
  await using s = await shippedServer();
  for (const { model, url, modality } of SETS) {
    const src = await pngAsDicom(url, { attributes: { Modality: modality } });
    const path = `/v1/models/${model}/segment`;
    const reference = await mask(s.app, path, src);
    const networkReference = await mask(s.app, path, src, "&postprocess=none");
    const foreground = reference.reduce((n, v) => n + (v ? 1 : 0), 0);
    assert.ok(foreground > 100, `${model}: the reference mask finds something`);
    const twins = await compressedTwins(src, await rawFrameOfPng(url));
    assert.equal(twins.length, 12);
    for (const twin of twins) {
      const query = twin.lossless ? "" : "&postprocess=none";
      const got = await mask(s.app, path, twin.bytes, query);
      const ref = twin.lossless ? reference : networkReference;
      let differ = 0;
      for (let i = 0; i < got.length; i++) if (got[i] !== ref[i]) differ++;
      const share = differ / got.length;
      console.log(
        `${model} ${twin.name} ${twin.transferSyntax}: ${differ} pixels differ (${
          (100 * share).toFixed(3)
        } %)`,
      );
      if (twin.lossless) assert.equal(differ, 0, `${model} ${twin.name}`);
      else assert.ok(share <= 0.01, `${model} ${twin.name}: ${(100 * share).toFixed(2)} % differ`);
      const seg = await post(s.app, `${path}?format=dicom-seg`, twin.bytes);
      assert.equal(seg.status, 200);
      const { errors } = await dciodvfy(new Uint8Array(await seg.arrayBuffer()));
      assert.deepEqual(errors, [], `${model} ${twin.name}: dciodvfy`);
    }
  }
});

Deno.test("modality guard: a CT to the ultrasound model is 422 modality_mismatch naming both; ?modality_check=off runs it; PNG passes", async () => {
  await using s = await shippedServer();
  const ct = await pngAsDicom(HC18_SAMPLE, { attributes: { Modality: "CT" } });
  const refused = await post(s.app, "/v1/models/hc18/segment?format=json", ct);
  assert.equal(refused.status, 422);
  const body = await refused.json();
  assert.equal(body.code, "modality_mismatch");
  assert.match(body.error, /hc18 is for US images.*Modality is CT.*modality_check=off/);
  const forced = await post(s.app, "/v1/models/hc18/segment?format=json&modality_check=off", ct);
  assert.equal(forced.status, 200);
  const json = await forced.json();
  assert.deepEqual(json.model_modalities, ["US"]);
  assert.equal(json.modality, "CT");
  const us = await post(
    s.app,
    "/v1/models/hc18/segment?format=json",
    await pngAsDicom(HC18_SAMPLE, { attributes: { Modality: "US" } }),
  );
  assert.equal(us.status, 200);
  const png = await s.app.request("/v1/models/hc18/segment?format=json", {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: await Deno.readFile(HC18_SAMPLE),
  });
  assert.equal(png.status, 200);
  assert.equal((await png.json()).modality, null);
  const card = await (await s.app.request("/v1/models/isbi2012-em", {})).json();
  assert.deepEqual(card.card.modalities, ["GM", "SM", "OT"]);
  assert.equal(card.card.segment.type.scheme, "SCT");
});

Deno.test("modality guard: a refused compressed DICOM costs no codec run", async () => {
  await using s = await shippedServer();
  const ct = await dcmtk(
    await pngAsDicom(HC18_SAMPLE, { attributes: { Modality: "CT" } }),
    "dcmcjpls",
    [],
  );
  closeCodecWorker();
  const refused = await post(s.app, "/v1/models/hc18/segment?format=json", ct);
  assert.equal(refused.status, 422);
  assert.equal((await refused.json()).code, "modality_mismatch");
  assert.equal(codecWorkerRunning(), false, "the guard runs before the codec");
});
