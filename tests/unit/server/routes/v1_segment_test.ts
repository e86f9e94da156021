import assert from "node:assert/strict";
import { decode as decodePng } from "fast-png";
import { fixtureServer } from "../../../helpers/model_repo.ts";
import { ISIC_SAMPLE, makeJpeg, makePng, readSample } from "../../../helpers/images.ts";
import { stringToCounts } from "../../../../src/outputs/rle.ts";
import { keepLargestComponent } from "../../../../src/imaging/largest_component.ts";
import { MAX_FORM_PARTS } from "../../../../src/server/read_image.ts";

function form(bytes: Uint8Array, type = "image/png", field = "image"): FormData {
  const fd = new FormData();
  fd.append(field, new File([bytes as Uint8Array<ArrayBuffer>], "upload", { type }));
  return fd;
}

Deno.test("multipart PNG → mask PNG at the original size (real ISIC image)", async () => {
  await using s = await fixtureServer();
  const bytes = await readSample(ISIC_SAMPLE);
  const res = await s.app.request("/v1/segment", { method: "POST", body: form(bytes) });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "image/png");
  assert.equal(res.headers.get("x-model"), "lesion");
  assert.match(res.headers.get("server-timing") ?? "", /inference;dur=/);
  const mask = decodePng(new Uint8Array(await res.arrayBuffer()));
  assert.deepEqual([mask.width, mask.height, mask.channels], [256, 192, 1]);
  assert.ok(Array.from(mask.data).every((v) => v === 0 || v === 255));
});

Deno.test("a form of more parts than the image and a few fields is refused 400 before it is parsed", async () => {
  await using s = await fixtureServer();
  const bytes = await readSample(ISIC_SAMPLE);
  const many = form(bytes);
  for (let i = 0; i < MAX_FORM_PARTS; i++) many.append(`f${i}`, "x");
  const res = await s.app.request("/v1/segment", { method: "POST", body: many });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /more than 16 parts/);
  // a boundary past RFC 2046's 70 characters, or only a look-alike parameter: 400 JSON
  for (const type of [`boundary=${"-".repeat(71)}`, "xboundary=abc"]) {
    const bad = await s.app.request("/v1/segment", {
      method: "POST",
      headers: { "content-type": `multipart/form-data; ${type}` },
      body: "--abc\r\n\r\n--abc--\r\n",
    });
    assert.equal(bad.status, 400, type);
    assert.match((await bad.json()).error, /boundary of 1-70 characters/);
  }
  // the image and a few fields still go through
  const few = form(bytes);
  for (let i = 0; i < 3; i++) few.append(`f${i}`, "x");
  const ok = await s.app.request("/v1/segment", { method: "POST", body: few });
  assert.equal(ok.status, 200, await ok.clone().text());
  await ok.body?.cancel();
});

Deno.test("raw JPEG body → JSON with areas, bbox, RLE and contours that agree with each other", async () => {
  await using s = await fixtureServer();
  const res = await s.app.request("/v1/models/lesion/segment?format=json", {
    method: "POST",
    headers: { "content-type": "image/jpeg" },
    body: makeJpeg(90, 70),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.model, "lesion");
  assert.equal(body.version, "1");
  assert.equal(body.engine, "native");
  assert.deepEqual([body.width, body.height], [90, 70]);
  const runs: number[] = stringToCounts(body.rle.counts);
  assert.equal(runs.reduce((a, b) => a + b, 0), 90 * 70);
  const foreground = runs.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0);
  assert.equal(foreground, body.pixel_area);
  assert.ok(Math.abs(body.foreground_fraction - body.pixel_area / (90 * 70)) < 1e-12);
  if (body.pixel_area > 0) {
    const [x, y, w, h] = body.bbox;
    assert.ok(x >= 0 && y >= 0 && x + w <= 90 && y + h <= 70);
    assert.ok(body.contours.length >= 1);
  }
  for (const k of ["decode_ms", "preprocess_ms", "queue_ms", "inference_ms", "postprocess_ms"]) {
    assert.equal(typeof body.timings[k], "number", k);
  }
});

Deno.test("Accept: application/json picks JSON; overlay is an RGB PNG of the image's size", async () => {
  await using s = await fixtureServer();
  const png = makePng(40, 30, 1);
  const json = await s.app.request("/v1/segment", {
    method: "POST",
    headers: { accept: "application/json", "content-type": "image/png" },
    body: png,
  });
  assert.equal(json.headers.get("content-type"), "application/json");
  await json.body?.cancel();
  const overlay = await s.app.request("/v1/segment?format=overlay&opacity=0.5", {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: png,
  });
  assert.equal(overlay.status, 200);
  const img = decodePng(new Uint8Array(await overlay.arrayBuffer()));
  assert.deepEqual([img.width, img.height, img.channels], [40, 30, 3]);
});

Deno.test("model listing shows cards, runtime engine, threads and the reason", async () => {
  await using s = await fixtureServer([{ name: "lesion" }, { name: "lesion", version: "2" }, {
    name: "head",
    net: { channels: 1 },
  }]);
  const list = await (await s.app.request("/v1/models")).json();
  assert.deepEqual(list.models.map((m: { name: string }) => m.name), ["head", "lesion"]);
  const lesion = list.models.find((m: { name: string }) => m.name === "lesion");
  assert.deepEqual(lesion.versions, ["1", "2"]);
  assert.equal(lesion.latest_version, "2");
  const one = await (await s.app.request("/v1/models/head")).json();
  assert.equal(one.card.input.channels, 1);
  assert.equal(one.runtime[0].engine, "native");
  assert.equal(one.runtime[0].threads, 1);
  assert.match(one.runtime[0].reason, /explicit/);
  const v1 = await s.app.request("/v1/models/lesion/versions/1/segment", {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: makePng(16, 16, 3),
  });
  assert.equal(v1.headers.get("x-model-version"), "1");
  await v1.body?.cancel();
});

Deno.test("every v1 error is JSON with a stable code and the right status", async () => {
  await using s = await fixtureServer([{ name: "lesion" }], {
    maxBodyBytes: 200_000,
    maxPixels: 250_000,
  });
  const png = makePng(32, 32, 3);
  const cases: [string, RequestInit, number, string][] = [
    [
      "/v1/models/nope/segment",
      { method: "POST", headers: { "content-type": "image/png" }, body: png },
      404,
      "model_not_found",
    ],
    [
      "/v1/models/lesion/versions/9/segment",
      { method: "POST", headers: { "content-type": "image/png" }, body: png },
      404,
      "model_not_found",
    ],
    [
      "/v1/models/..%2F..%2Fetc/segment",
      { method: "POST", headers: { "content-type": "image/png" }, body: png },
      404,
      "model_not_found",
    ],
    [
      "/v1/segment",
      { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" },
      415,
      "unsupported_media_type",
    ],
    [
      "/v1/segment",
      { method: "POST", headers: { "content-type": "image/png" }, body: png.subarray(0, 50) },
      400,
      "bad_image",
    ],
    [
      "/v1/segment",
      { method: "POST", headers: { "content-type": "image/png" }, body: new Uint8Array(300_000) },
      413,
      "too_large",
    ],
    [
      "/v1/segment",
      { method: "POST", headers: { "content-type": "image/png" }, body: makePng(600, 600, 1) },
      413,
      "too_many_pixels",
    ],
    [
      "/v1/segment",
      { method: "POST", body: form(png, "image/png", "picture") },
      400,
      "bad_request",
    ],
    [
      "/v1/segment",
      {
        method: "POST",
        headers: { "content-type": "multipart/form-data; boundary=xyz" },
        body: "--xyz\r\nbroken",
      },
      400,
      "bad_request",
    ],
    [
      "/v1/segment?format=gif",
      { method: "POST", headers: { "content-type": "image/png" }, body: png },
      400,
      "bad_request",
    ],
    [
      "/v1/segment?precision=int8",
      { method: "POST", headers: { "content-type": "image/png" }, body: png },
      404,
      "model_not_found",
    ],
    [
      "/v1/segment?precision=fp16",
      { method: "POST", headers: { "content-type": "image/png" }, body: png },
      400,
      "bad_request",
    ],
    [
      "/v1/segment?format=overlay&opacity=7",
      { method: "POST", headers: { "content-type": "image/png" }, body: png },
      400,
      "bad_request",
    ],
    [
      "/v1/segment?format=overlay&opacity=",
      { method: "POST", headers: { "content-type": "image/png" }, body: png },
      400,
      "bad_request",
    ],
    [
      "/v1/segment?format=overlay&opacity=0x1",
      { method: "POST", headers: { "content-type": "image/png" }, body: png },
      400,
      "bad_request",
    ],
    ["/v1/nothing", { method: "GET" }, 404, "not_found"],
  ];
  for (const [path, init, status, code] of cases) {
    const res = await s.app.request(path, init);
    const body = await res.json();
    assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
    assert.equal(body.code, code, path);
    assert.equal(typeof body.error, "string");
  }
  // after all those, the model still serves
  const ok = await s.app.request("/v1/segment", {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: png,
  });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("a full queue answers 503 with Retry-After and every accepted request still completes", async () => {
  await using s = await fixtureServer([{ name: "lesion", net: { width: 8, depth: 3 } }], {
    maxQueue: 1,
  });
  const png = makePng(256, 256, 3);
  const responses = await Promise.all(
    Array.from(
      { length: 8 },
      () =>
        s.app.request("/v1/segment", {
          method: "POST",
          headers: { "content-type": "image/png" },
          body: png,
        }),
    ),
  );
  const statuses = responses.map((r) => r.status);
  const busy = responses.filter((r) => r.status === 503);
  assert.ok(statuses.filter((x) => x === 200).length >= 2, `statuses ${statuses}`);
  assert.ok(busy.length >= 1, `expected some 503s, got ${statuses}`);
  assert.ok(statuses.every((x) => x === 200 || x === 503), `statuses ${statuses}`);
  for (const r of busy) {
    assert.ok(Number(r.headers.get("retry-after")) >= 1);
    assert.equal((await r.json()).code, "queue_full");
  }
  for (const r of responses.filter((x) => x.status === 200)) await r.body?.cancel();
});

Deno.test("?postprocess: the card's clean-up by default, the raw mask with none, 400 for anything else", async () => {
  await using s = await fixtureServer([{
    name: "lesion",
    card: { postprocess: { largest_component: true } },
  }]);
  const bytes = await readSample(ISIC_SAMPLE);
  const ask = async (query: string) => {
    const res = await s.app.request(`/v1/segment${query}`, { method: "POST", body: form(bytes) });
    assert.equal(res.status, 200, await res.clone().text());
    return decodePng(new Uint8Array(await res.arrayBuffer()));
  };
  const raw = await ask("?postprocess=none");
  const cleaned = await ask("");
  const rawMask = Uint8Array.from(raw.data, (v) => v ? 1 : 0);
  const expected = keepLargestComponent(rawMask, raw.width, raw.height).mask;
  assert.deepEqual(Uint8Array.from(cleaned.data, (v) => v ? 1 : 0), expected);
  const json = await s.app.request("/v1/segment?format=json", {
    method: "POST",
    body: form(bytes),
  });
  assert.deepEqual((await json.json()).postprocess, ["largest_component"]);
  const bad = await s.app.request("/v1/segment?postprocess=maybe", {
    method: "POST",
    body: form(bytes),
  });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).code, "bad_request");
});
