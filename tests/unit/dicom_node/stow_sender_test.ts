/**
 * STOW-RS out against a local HTTP server that answers as a PACS would: what each PS3.18
 * answer means for each SEG (delivered, refused for good, tried again), and the request
 * itself (multipart of the SEGs, Basic auth from the URL's credentials, never logged).
 */
import assert from "node:assert/strict";
import { mediaParams, parseMultipart } from "../../../src/dicom_node/multipart.ts";
import type { OutgoingSeg } from "../../../src/dicom_node/sender.ts";
import { SEGMENTATION_STORAGE } from "../../../src/dicom_node/sop_classes.ts";
import { StowSender } from "../../../src/dicom_node/stow_sender.ts";

const seg = (uid: string, n: number): OutgoingSeg => ({
  bytes: new Uint8Array([n, n, n]),
  sopClassUid: SEGMENTATION_STORAGE,
  sopInstanceUid: uid,
});

const failedSop = (items: [string, number][]) => ({
  "00081198": {
    vr: "SQ",
    Value: items.map(([uid, reason]) => ({
      "00081155": { vr: "UI", Value: [uid] },
      "00081197": { vr: "US", Value: [reason] },
    })),
  },
});

Deno.test("STOW-RS out: 200 delivers all; 202/409 per Failed SOP item (0xA7xx retried, others refused); 503 retries the batch", async () => {
  const answers: [number, unknown][] = [
    [200, {}],
    [409, failedSop([["1.1", 0xa700], ["1.2", 0xc000]])],
    [202, failedSop([["1.2", 0x0110]])],
    [503, "busy"],
  ];
  const seen: { auth: string | null; parts: Uint8Array[]; path: string }[] = [];
  await using server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      const { params } = mediaParams(req.headers.get("content-type") ?? "");
      const body = new Uint8Array(await req.arrayBuffer());
      seen.push({
        auth: req.headers.get("authorization"),
        parts: parseMultipart(body, params.boundary).map((p) => p.bytes),
        path: new URL(req.url).pathname,
      });
      const [status, json] = answers[seen.length - 1];
      return new Response(JSON.stringify(json), { status });
    },
  );
  const sender = new StowSender(
    new URL(`http://pacs:s%3Acret@127.0.0.1:${server.addr.port}/dicom-web`),
  );
  assert.doesNotMatch(sender.target, /cret/, "credentials stay out of logs");
  const batch = [seg("1.1", 1), seg("1.2", 2)];

  assert.deepEqual((await sender.send(batch)).map((r) => r.status), ["ok", "ok"]);
  assert.equal(seen[0].path, "/dicom-web/studies");
  assert.equal(seen[0].auth, `Basic ${btoa("pacs:s:cret")}`);
  assert.deepEqual(seen[0].parts, batch.map((s) => s.bytes));

  const conflict = await sender.send(batch);
  assert.deepEqual(conflict.map((r) => r.status), ["retry", "rejected"]);
  assert.match(conflict[1].status === "rejected" ? conflict[1].reason : "", /0xc000/);

  assert.deepEqual((await sender.send(batch)).map((r) => r.status), ["ok", "rejected"]);
  await assert.rejects(sender.send(batch), /answered 503/);
});
