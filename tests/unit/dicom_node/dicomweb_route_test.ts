/**
 * The DICOMweb routes in-process over a fixture model whose card lists `US`: routing by the
 * card's modalities, the PS3.18 response, WADO-RS, bad requests and auth. (Against a real
 * Orthanc: tests/e2e/dicom_node_stow_test.ts.)
 */
import assert from "node:assert/strict";
import { loadDicomNodeConfig } from "../../../src/dicom_node/config.ts";
import { mediaParams, parseMultipart, writeMultipart } from "../../../src/dicom_node/multipart.ts";
import {
  CT_SOP_CLASS,
  HC18_SAMPLES,
  readSeg,
  sampleInstance,
  US_SOP_CLASS,
} from "../../helpers/dicom_node.ts";
import { fixtureServer } from "../../helpers/model_repo.ts";

const KEY = "k".repeat(20);

async function stow(
  app: { request: (p: string, i: RequestInit) => Response | Promise<Response> },
  parts: Uint8Array[],
  headers: Record<string, string> = {},
) {
  const { body, contentType } = writeMultipart(
    parts.map((bytes) => ({ contentType: "application/dicom", bytes })),
  );
  return await app.request("/dicomweb/studies", {
    method: "POST",
    headers: { "content-type": contentType, ...headers },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

Deno.test("DICOMweb: STOW-RS routes by the card's modalities, answers PS3.18 JSON, WADO-RS serves the SEG", async () => {
  const outbox = await Deno.makeTempDir({ prefix: "tinyunet-outbox-" });
  await using server = await fixtureServer(
    [{ name: "head", net: { channels: 1 }, card: { modalities: ["US"] } }],
    { dicomNode: loadDicomNodeConfig({ TINYUNET_OUTBOX: outbox }) },
  );
  try {
    const us = await sampleInstance(HC18_SAMPLES[1], US_SOP_CLASS, "US");
    const ct = await sampleInstance(HC18_SAMPLES[1], CT_SOP_CLASS, "CT");
    const res = await stow(server.app, [us.bytes, ct.bytes, new TextEncoder().encode("not dicom")]);
    assert.equal(res.status, 202);
    const json = await res.json();
    const ref = json["00081199"].Value[0];
    assert.equal(ref["00082112"].Value[0]["00081155"].Value[0], us.sopInstanceUid);
    const failed = json["00081198"].Value;
    assert.deepEqual(
      failed.map((f: Record<string, { Value: unknown[] }>) => f["00081197"].Value[0]),
      [0x0122, 0xc000],
    );
    assert.equal(failed[0]["00081155"].Value[0], ct.sopInstanceUid);

    const url = new URL(ref["00081190"].Value[0]);
    const wado = await server.app.request(url.pathname);
    assert.equal(wado.status, 200);
    const { params } = mediaParams(wado.headers.get("content-type")!);
    const seg = readSeg(
      parseMultipart(new Uint8Array(await wado.arrayBuffer()), params.boundary)[0].bytes,
    );
    assert.equal(seg.modality, "SEG");
    assert.deepEqual(seg.referencedInstances, [us.sopInstanceUid]);
    const bare = await server.app.request(url.pathname, {
      headers: { accept: "application/dicom" },
    });
    assert.equal(bare.headers.get("content-type"), "application/dicom");
    await bare.body?.cancel();

    const all = await stow(server.app, [ct.bytes]);
    assert.equal(all.status, 409, "nothing segmented");
    await all.body?.cancel();
    const metrics = await (await server.app.request("/metrics")).text();
    assert.match(metrics, /tinyunet_dicom_instances_segmented_total\{via="stow",model="head"\} 1/);
    assert.match(metrics, /tinyunet_dicom_instances_not_routed_total\{via="stow"\} 2/);
  } finally {
    await Deno.remove(outbox, { recursive: true });
  }
});

Deno.test("DICOMweb: bad requests get JSON 4xx; keys are required like the rest of the API", async () => {
  const outbox = await Deno.makeTempDir({ prefix: "tinyunet-outbox-" });
  await using server = await fixtureServer([{ name: "head", net: { channels: 1 } }], {
    dicomNode: loadDicomNodeConfig({ TINYUNET_OUTBOX: outbox }),
    apiKeys: [{ key: KEY, scope: "infer" }],
  });
  try {
    const auth = { authorization: `Bearer ${KEY}` };
    const cases: [RequestInit & { path?: string }, number, string][] = [
      [
        { method: "POST", body: "x", headers: { "content-type": "application/dicom", ...auth } },
        415,
        "unsupported_media_type",
      ],
      [
        {
          method: "POST",
          body: "x",
          headers: { "content-type": 'multipart/related; type="image/png"; boundary=b', ...auth },
        },
        415,
        "unsupported_media_type",
      ],
      [
        {
          method: "POST",
          body: "garbage",
          headers: {
            "content-type": 'multipart/related; type="application/dicom"; boundary=b',
            ...auth,
          },
        },
        400,
        "bad_request",
      ],
      [
        {
          method: "POST",
          body: "x",
          headers: { "content-type": 'multipart/related; type="application/dicom"; boundary=b' },
        },
        401,
        "unauthorized",
      ],
      [
        { method: "GET", path: "/dicomweb/studies/1.2/series/1.3/instances/1.4", headers: auth },
        404,
        "not_found",
      ],
      [
        { method: "GET", path: "/dicomweb/studies/x/series/1.3/instances/1.4", headers: auth },
        400,
        "bad_request",
      ],
    ];
    for (const [init, status, code] of cases) {
      const res = await server.app.request(init.path ?? "/dicomweb/studies", init);
      assert.equal(
        res.status,
        status,
        `${init.method} ${init.path ?? ""} ${JSON.stringify(init.headers)}`,
      );
      assert.equal((await res.json()).code, code);
    }
  } finally {
    await Deno.remove(outbox, { recursive: true });
  }
});

Deno.test("DICOMweb: 300 malformed STOW-RS bodies (seeded) never get a 5xx", async () => {
  const outbox = await Deno.makeTempDir({ prefix: "tinyunet-outbox-" });
  await using server = await fixtureServer([{
    name: "head",
    net: { channels: 1 },
    card: { modalities: ["US"] },
  }], {
    dicomNode: loadDicomNodeConfig({ TINYUNET_OUTBOX: outbox }),
  });
  try {
    const us = await sampleInstance(HC18_SAMPLES[0], US_SOP_CLASS, "US");
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const enc = new TextEncoder();
    for (let i = 0; i < 300; i++) {
      const boundary = ["b", "x".repeat(rand(250) + 1), "a b", ""][rand(4)];
      const dicom = us.bytes.slice(0, rand(us.bytes.length + 1));
      if (rand(3) === 0) dicom[rand(dicom.length || 1)] ^= 0xff;
      const pieces = [
        enc.encode(`--${boundary}\r\n`),
        enc.encode(
          rand(2) ? "Content-Type: application/dicom\r\n\r\n" : "Content-Type: text/plain\r\n",
        ),
        dicom,
        enc.encode(rand(2) ? `\r\n--${boundary}--\r\n` : `\r\n--${boundary}`),
      ].slice(0, 1 + rand(4));
      const body = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of pieces) (body.set(p, o), o += p.length);
      const type = [
        'multipart/related; type="application/dicom"; boundary=' + boundary,
        "multipart/related",
        "application/dicom",
      ][rand(3)];
      const res = await server.app.request("/dicomweb/studies", {
        method: "POST",
        headers: { "content-type": type },
        body,
      });
      assert.ok(res.status < 500, `case ${i}: ${res.status}`);
      const text = await res.text();
      assert.doesNotThrow(() => JSON.parse(text), `case ${i}: JSON body`);
    }
  } finally {
    await Deno.remove(outbox, { recursive: true });
  }
});
