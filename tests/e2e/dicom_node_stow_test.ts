/**
 * DICOMweb through the node against a real Orthanc: STOW-RS in (`POST /dicomweb/studies`,
 * several instances in one multipart body) → segmented → the PS3.18 response references
 * the SEGs (and says why the CT was not segmented) → WADO-RS serves each SEG back →
 * STOW-RS out to Orthanc's DICOMweb plugin delivers them (checked through Orthanc's REST
 * API, masks equal to `/v1`'s).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decode as decodePng } from "fast-png";
import { mediaParams, parseMultipart, writeMultipart } from "../../src/dicom_node/multipart.ts";
import {
  CT_SOP_CLASS,
  HC18_SAMPLES,
  readSeg,
  sampleInstance,
  US_SOP_CLASS,
} from "../helpers/dicom_node.ts";
import { testUid } from "../helpers/dicom.ts";
import { Orthanc } from "../../lib/orthanc.ts";
import { freePort, ServerProcess, waitReady } from "../helpers/server_process.ts";
import { waitUntil } from "../helpers/wait.ts";

type DicomJson = Record<
  string,
  { vr: string; Value?: Record<string, { Value?: unknown[] }>[] | unknown[] }
>;

Deno.test("DICOM node: STOW-RS in, PS3.18 response, WADO-RS back, STOW-RS out to a real Orthanc", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-stow-" });
  await using orthanc = new Orthanc();
  await orthanc.start();
  const port = freePort();
  await using _server = new ServerProcess(["run", "-A", "main.ts"], {
    PORT: String(port),
    TINYUNET_HOST: "127.0.0.1",
    TINYUNET_WATCH: "off",
    TINYUNET_DIMSE_ROUTES: "US=hc18",
    TINYUNET_DICOMWEB_DESTINATION: `${orthanc.url}/dicom-web`,
    TINYUNET_OUTBOX: join(dir, "outbox"),
    TINYUNET_OUTBOX_RETRY_MAX_MS: "300",
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base);
    const study = testUid(), series = testUid();
    const us = await Promise.all(
      HC18_SAMPLES.map((s, i) => sampleInstance(s, US_SOP_CLASS, "US", study, series, i + 1)),
    );
    const ct = await sampleInstance(HC18_SAMPLES[0], CT_SOP_CLASS, "CT", study);
    const { body, contentType } = writeMultipart(
      [...us, ct].map((i) => ({ contentType: "application/dicom", bytes: i.bytes })),
    );
    const res = await fetch(`${base}/dicomweb/studies`, {
      method: "POST",
      headers: { "content-type": contentType, accept: "application/dicom+json" },
      body: body as Uint8Array<ArrayBuffer>,
    });
    assert.equal(res.status, 202, "some segmented, the CT not");
    assert.equal(res.headers.get("content-type"), "application/dicom+json");
    const json = await res.json() as DicomJson;
    const referenced = json["00081199"].Value as Record<string, { Value: unknown[] }>[];
    const failed = json["00081198"].Value as Record<string, { Value: unknown[] }>[];
    assert.equal(referenced.length, 3);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]["00081155"].Value[0], ct.sopInstanceUid);
    assert.equal(failed[0]["00081197"].Value[0], 0x0122);
    const segUids: string[] = [];
    for (const [i, item] of referenced.entries()) {
      assert.equal(item["00081150"].Value[0], "1.2.840.10008.5.1.4.1.1.66.4");
      const source =
        (item["00082112"].Value[0] as Record<string, { Value: unknown[] }>)["00081155"].Value[0];
      assert.equal(source, us[i].sopInstanceUid);
      const url = item["00081190"].Value[0] as string;
      const wado = await fetch(url, {
        headers: { accept: 'multipart/related; type="application/dicom"' },
      });
      assert.equal(wado.status, 200);
      const { params } = mediaParams(wado.headers.get("content-type") ?? "");
      const parts = parseMultipart(new Uint8Array(await wado.arrayBuffer()), params.boundary);
      assert.equal(parts.length, 1);
      const seg = readSeg(parts[0].bytes);
      assert.deepEqual(seg.referencedInstances, [us[i].sopInstanceUid]);
      segUids.push(item["00081155"].Value[0] as string);
    }
    const missing = await fetch(
      `${base}/dicomweb/studies/${study}/series/1.2.3/instances/${segUids[0]}`,
    );
    assert.equal(missing.status, 404, "a SEG is found only under its own series");
    await missing.body?.cancel();

    // delivered to Orthanc through its DICOMweb plugin
    const ids = await waitUntil(
      async () => {
        const found = await orthanc.instancesOf("SEG");
        return found.length >= 3 ? found : undefined;
      },
      "3 SEGs in Orthanc",
      60_000,
      200,
    );
    assert.equal(ids.length, 3);
    for (const id of ids) {
      const seg = readSeg(await orthanc.bytes(`/instances/${id}/file`));
      const i = us.findIndex((u) => u.sopInstanceUid === seg.referencedInstances[0]);
      assert.ok(i >= 0);
      const v1 = await fetch(`${base}/v1/models/hc18/segment`, {
        method: "POST",
        headers: { "content-type": "application/dicom" },
        body: us[i].bytes as Uint8Array<ArrayBuffer>,
      });
      const png = decodePng(new Uint8Array(await v1.arrayBuffer()));
      let diff = 0;
      for (let p = 0; p < seg.frames[0].length; p++) {
        diff += (png.data[p] > 127 ? 1 : 0) ^ seg.frames[0][p];
      }
      assert.equal(diff, 0, "SEG mask = /v1 mask");
    }
    const qido = await orthanc.get<unknown[]>(`/dicom-web/studies/${study}/series`);
    assert.ok(qido.length >= 1, "Orthanc's own DICOMweb lists the SEG series");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
