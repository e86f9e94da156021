/**
 * The DICOM node against real parts: a real Orthanc (started here, own config and
 * storage), dcmtk's `echoscu`/`storescu` as the modality, and the server as a real
 * process (`main.ts`). Covers: C-ECHO; 100 single-frame US instances over one
 * association with Orthanc down for the first half — every one acknowledged, 100 SEGs in
 * Orthanc once it is back; the SEG references its source and its mask equals `/v1`'s for
 * the same file; a multi-frame US gives one SEG frame per source frame; JPEG-LS is
 * negotiated and MPEG-2 refused in negotiation; a CT with no model (US routes to hc18 by
 * its card) is acknowledged and not segmented; the outbox
 * survives a restart of the node while Orthanc is down; garbage PDUs, aborted
 * associations and 50 parallel associations leave the node serving. And the README's
 * Orthanc wiring (the node as an Orthanc modality, a Lua rule forwarding US): a US stored
 * in Orthanc comes back with its SEG.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { decode as decodePng } from "fast-png";
import {
  CT_SOP_CLASS,
  dcmtk,
  HC18_SAMPLES,
  multiFrameUs,
  readSeg,
  sampleInstance,
  scu,
  writeUsSeries,
} from "../helpers/dicom_node.ts";
import { Orthanc } from "../../lib/orthanc.ts";
import { freePort, ServerProcess, waitReady } from "../helpers/server_process.ts";
import { waitUntil } from "../helpers/wait.ts";

const AET = "TINYUNET";

function startNode(env: Record<string, string>): { proc: ServerProcess; base: string } {
  const port = freePort();
  const proc = new ServerProcess(["run", "-A", "main.ts"], {
    PORT: String(port),
    TINYUNET_HOST: "127.0.0.1",
    TINYUNET_WATCH: "off",
    TINYUNET_OUTBOX_RETRY_MAX_MS: "300",
    ...env,
  });
  return { proc, base: `http://127.0.0.1:${port}` };
}

async function metric(base: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const key = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split("\n").find((l) => l.startsWith(key));
  return line ? Number(line.slice(key.length)) : 0;
}

function logged(proc: ServerProcess, msg: string): Record<string, unknown>[] {
  return proc.json().filter((l) => l.msg === msg);
}

Deno.test("DICOM node: storescu → segment → C-STORE to a real Orthanc, outbox across downtime and restart", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-dimse-" });
  const outbox = join(dir, "outbox");
  await using orthanc = new Orthanc();
  const dimsePort = freePort();
  const env = {
    TINYUNET_DIMSE_PORT: String(dimsePort),
    TINYUNET_DIMSE_AET: AET,
    // no TINYUNET_DIMSE_ROUTES: US goes to hc18 because its card lists "modalities": ["US"]
    TINYUNET_DIMSE_DESTINATION: `${orthanc.aet}@127.0.0.1:${orthanc.dicomPort}`,
    TINYUNET_OUTBOX: outbox,
  };
  let { proc, base } = startNode(env);
  try {
    await waitReady(base);
    await proc.waitForLog((l) => l.msg === "dimse listening", "the DIMSE listener");

    await t.step("C-ECHO answers; a wrong called AE title is rejected", async () => {
      const ok = await scu("echoscu", dimsePort);
      assert.equal(ok.code, 0, ok.text);
      const wrong = await scu("echoscu", dimsePort, [], "MODALITY", "SOMEONE");
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.text, /Called AE Title Not Recognized|rejected/i);
    });

    const series = await writeUsSeries(dir, 100);
    await t.step(
      "100 US instances over one association, Orthanc down for the first half: 100 SEGs arrive",
      async () => {
        const store = new Deno.Command("storescu", {
          args: [
            "-aet",
            "MODALITY",
            "-aec",
            AET,
            "127.0.0.1",
            String(dimsePort),
            ...series.map((s) => s.path),
          ],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        await waitUntil(
          () => logged(proc, "dicom instance segmented").length >= 50,
          "50 instances segmented",
          120_000,
        );
        await orthanc.start();
        const out = await store.output();
        const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, text);
        assert.doesNotMatch(text, /Status: (?!Success)|Store Failed|E: /);
        assert.equal(
          logged(proc, "dimse association accepted").length,
          2,
          "one association (plus the echo)",
        );
        const segs = await waitUntil(
          async () => {
            const ids = await orthanc.instancesOf("SEG");
            return ids.length >= 100 ? ids : undefined;
          },
          "100 SEGs in Orthanc",
          120_000,
          200,
        );
        assert.equal(segs.length, 100);
        assert.ok(
          await metric(
            base,
            "tinyunet_dicom_segs_send_failures_total",
            'destination="dimse",kind="retry"',
          ) > 0,
          "Orthanc was down for some attempts",
        );
        // Orthanc stores before it answers: wait for the node to have counted every answer
        await waitUntil(
          async () =>
            (await metric(base, "tinyunet_dicom_segs_sent_total", 'destination="dimse"')) === 100,
          "100 SEGs counted as sent",
          30_000,
        );
        assert.equal(await metric(base, "tinyunet_dicom_outbox_depth", 'destination="dimse"'), 0);
      },
    );

    await t.step(
      "a SEG in Orthanc references its source and its mask equals /v1's mask",
      async () => {
        const bySource = new Map<string, string>();
        for (const id of await orthanc.instancesOf("SEG")) {
          const seg = readSeg(await orthanc.bytes(`/instances/${id}/file`));
          assert.equal(seg.frames.length, 1);
          bySource.set(seg.referencedInstances[0], id);
        }
        for (const s of series) {
          assert.ok(bySource.has(s.sopInstanceUid), `a SEG references ${s.sopInstanceUid}`);
        }
        for (const s of series.slice(0, 3)) {
          const seg = readSeg(
            await orthanc.bytes(`/instances/${bySource.get(s.sopInstanceUid)}/file`),
          );
          const res = await fetch(`${base}/v1/models/hc18/segment`, {
            method: "POST",
            headers: { "content-type": "application/dicom" },
            body: await Deno.readFile(s.path),
          });
          assert.equal(res.status, 200);
          const png = decodePng(new Uint8Array(await res.arrayBuffer()));
          assert.equal(png.width, seg.columns);
          assert.equal(png.height, seg.rows);
          let diff = 0, fg = 0;
          for (let i = 0; i < seg.frames[0].length; i++) {
            const v1 = png.data[i] > 127 ? 1 : 0;
            if (v1 !== seg.frames[0][i]) {
              diff++;
            }
            fg += v1;
          }
          assert.ok(fg > 100, "the /v1 mask finds the head");
          assert.equal(diff, 0, "SEG mask = /v1 mask");
        }
      },
    );

    await t.step(
      "a multi-frame US: one SEG, one frame per source frame, each equal to /v1's",
      async () => {
        const mf = await multiFrameUs();
        const path = join(dir, "multiframe.dcm");
        await Deno.writeFile(path, mf.bytes);
        const out = await scu("storescu", dimsePort, [path]);
        assert.equal(out.code, 0, out.text);
        const seg = await waitUntil(
          async () => {
            for (const id of await orthanc.instancesOf("SEG")) {
              const s = readSeg(await orthanc.bytes(`/instances/${id}/file`));
              if (s.referencedInstances[0] === mf.sopInstanceUid) return s;
            }
          },
          "the multi-frame SEG in Orthanc",
          60_000,
          200,
        );
        assert.equal(seg.frames.length, mf.frames);
        for (let f = 1; f <= mf.frames; f++) {
          const res = await fetch(`${base}/v1/models/hc18/segment?frame=${f}`, {
            method: "POST",
            headers: { "content-type": "application/dicom" },
            body: mf.bytes as Uint8Array<ArrayBuffer>,
          });
          const png = decodePng(new Uint8Array(await res.arrayBuffer()));
          let diff = 0;
          for (let i = 0; i < png.width * png.height; i++) {
            diff += (png.data[i] > 127 ? 1 : 0) ^ seg.frames[f - 1][i];
          }
          assert.equal(diff, 0, `frame ${f}: SEG mask = /v1 mask`);
        }
      },
    );

    await t.step(
      "compressed syntaxes: JPEG-LS negotiated and segmented like /v1; MPEG-2 refused in negotiation",
      async () => {
        const jls = join(dir, "jls.dcm");
        const made = await dcmtk("dcmcjpls", [series[1].path, jls]);
        assert.equal(made.code, 0, made.text);
        const out = await scu("storescu", dimsePort, ["-xt", jls]);
        assert.equal(out.code, 0, out.text);
        const line = await proc.waitForLog(
          (l) =>
            l.msg === "dicom instance segmented" && l.transfer_syntax === "1.2.840.10008.1.2.4.80",
          "the JPEG-LS instance segmented",
        );
        assert.equal(line.request_id, series[1].sopInstanceUid);
        assert.equal(line.routed_by, "card", "no TINYUNET_DIMSE_ROUTES: hc18's card lists US");
        const refused = await scu("storescu", dimsePort, ["-xm", series[2].path]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.text, /No Acceptable Presentation Contexts|No presentation context/i);
      },
    );

    await t.step("a CT with no model is acknowledged, logged and not segmented", async () => {
      const ct = await sampleInstance(HC18_SAMPLES[0], CT_SOP_CLASS, "CT");
      const path = join(dir, "ct.dcm");
      await Deno.writeFile(path, ct.bytes);
      const out = await scu("storescu", dimsePort, [path]);
      assert.equal(out.code, 0, out.text);
      const line = await proc.waitForLog(
        (l) => l.msg === "dicom instance not segmented" && l.request_id === ct.sopInstanceUid,
        "the not-segmented log",
      );
      assert.equal(line.modality, "CT");
      assert.equal(
        await metric(base, "tinyunet_dicom_instances_not_routed_total", 'via="dimse"'),
        1,
      );
    });

    await t.step(
      "garbage, aborted associations and 50 parallel associations: the node keeps serving",
      async () => {
        for (
          const payload of [
            new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
            new Uint8Array([0x01, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
            crypto.getRandomValues(new Uint8Array(4096)),
          ]
        ) {
          await new Promise<void>((resolve) => {
            const sock = connect(dimsePort, "127.0.0.1", () => sock.write(payload));
            sock.on("error", () => resolve());
            sock.on("close", () => resolve());
            setTimeout(() => sock.destroy(), 3000);
          });
        }
        // an association that aborts instead of releasing, and one cut off mid-data set
        const aborted = await scu("storescu", dimsePort, ["--abort", series[0].path]);
        assert.equal(aborted.code, 0, aborted.text);
        const parallel = await Promise.all(
          Array.from(
            { length: 50 },
            (_, i) =>
              i % 2
                ? scu("echoscu", dimsePort, [], `P${i}`)
                : scu("storescu", dimsePort, [series[i].path], `P${i}`),
          ),
        );
        for (const r of parallel) {
          assert.equal(r.code, 0, r.text);
        }
        const ok = await scu("echoscu", dimsePort);
        assert.equal(ok.code, 0, ok.text);
        assert.equal((await fetch(`${base}/v2/health/ready`)).status, 200);
      },
    );

    await t.step(
      "Orthanc down and the node restarted: the outbox keeps the SEGs and delivers them",
      async () => {
        await waitUntil(
          async () =>
            (await metric(base, "tinyunet_dicom_outbox_depth", 'destination="dimse"')) === 0,
          "outbox empty",
          60_000,
          100,
        );
        await orthanc.stop();
        const more = await writeUsSeries(dir, 5, "late");
        const out = await scu("storescu", dimsePort, more.map((m) => m.path));
        assert.equal(out.code, 0, out.text);
        proc.kill("SIGTERM");
        assert.equal((await proc.status()).code, 0);
        const queued = [...Deno.readDirSync(join(outbox, "queue", "dimse"))].length;
        assert.equal(queued, 5, "5 SEGs wait on disk");
        ({ proc, base } = startNode(env));
        await waitReady(base);
        await orthanc.start();
        await waitUntil(
          async () => {
            const segs = await orthanc.instancesOf("SEG");
            const refs = new Set<string>();
            for (const id of segs) {
              const tags = await orthanc.get<Record<string, unknown>>(
                `/instances/${id}/simplified-tags`,
              );
              const seq = tags.ReferencedSeriesSequence as {
                ReferencedInstanceSequence: { ReferencedSOPInstanceUID: string }[];
              }[];
              refs.add(seq[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID);
            }
            return more.every((m) => refs.has(m.sopInstanceUid));
          },
          "the 5 SEGs made before the restart in Orthanc",
          60_000,
          250,
        );
      },
    );
  } finally {
    await proc[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("DICOM node wired into Orthanc as in the README: US stored in Orthanc comes back with its SEG", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-forward-" });
  const dimsePort = freePort();
  // the README's Orthanc settings: the node as a modality, and a Lua rule that forwards US
  await using orthanc = new Orthanc(
    { DicomModalities: { tinyunet: [AET, "127.0.0.1", dimsePort] } },
    `function OnStoredInstance(instanceId, tags, metadata, origin)
       if tags["Modality"] == "US" then SendToModality(instanceId, "tinyunet") end
     end`,
  );
  await orthanc.start();
  const { proc, base } = startNode({
    TINYUNET_DIMSE_PORT: String(dimsePort),
    TINYUNET_DIMSE_CALLING_AETS: orthanc.aet,
    TINYUNET_DIMSE_DESTINATION: `${orthanc.aet}@127.0.0.1:${orthanc.dicomPort}`,
    TINYUNET_OUTBOX: join(dir, "outbox"),
  });
  try {
    await waitReady(base);
    await proc.waitForLog((l) => l.msg === "dimse listening", "the DIMSE listener");
    const series = await writeUsSeries(dir, 3);
    const out = await dcmtk("storescu", [
      "-aet",
      "US_ROOM1",
      "-aec",
      orthanc.aet,
      "127.0.0.1",
      String(orthanc.dicomPort),
      ...series.map((s) => s.path),
    ]);
    assert.equal(out.code, 0, out.text);
    const refs = await waitUntil(
      async () => {
        const found = new Set<string>();
        for (const id of await orthanc.instancesOf("SEG")) {
          found.add(readSeg(await orthanc.bytes(`/instances/${id}/file`)).referencedInstances[0]);
        }
        return series.every((s) => found.has(s.sopInstanceUid)) ? found : undefined;
      },
      "a SEG in Orthanc for each US instance",
      60_000,
      200,
    );
    assert.equal(refs.size, 3, "SEGs are not sent on again (no loop)");
    const stranger = await scu("echoscu", dimsePort, [], "STRANGER");
    assert.notEqual(stranger.code, 0, "a calling AE title outside the allow-list is rejected");
    assert.match(stranger.text, /Calling AE Title Not Recognized/i);
    assert.ok(
      logged(proc, "dimse association rejected").some((l) => l.calling_aet === "STRANGER"),
    );
    assert.ok(
      logged(proc, "dimse association accepted").every((l) => l.calling_aet === orthanc.aet),
      "only Orthanc (TINYUNET_DIMSE_CALLING_AETS) associated",
    );
  } finally {
    await proc[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
