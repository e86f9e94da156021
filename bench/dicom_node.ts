/**
 * The DICOM node's added latency (part `dicom`; left out of `--quick`): a real Orthanc
 * and the real server (`main.ts` with its DIMSE listener routed to `hc18` and Orthanc as
 * the C-STORE destination) on loopback. The same 256×256 ultrasound instances are
 *
 * 1. posted to `/v1/models/hc18/segment?format=dicom-seg` one at a time (client-side time
 *    from request to the SEG's last byte), and
 * 2. sent with `storescu`, one instance per run, waiting for each SEG to be acknowledged
 *    by Orthanc; the node's own `seg delivered` log gives receive → SEG acknowledged.
 *
 * Added latency = median(2) − median(1): what the DICOM path costs over `/v1`
 * (Part 10 framing, outbox write + fsync, association and C-STORE to Orthanc).
 *
 * @module
 */
import { Orthanc } from "../tests/helpers/orthanc.ts";
import { sampleInstance, US_SOP_CLASS } from "../tests/helpers/dicom_node.ts";
import { testUid } from "../tests/helpers/dicom.ts";
import { freePort, ServerProcess, waitReady } from "../tests/helpers/server_process.ts";
import { waitUntil } from "../tests/helpers/wait.ts";
import { progress } from "./progress.ts";
import { round, summarize } from "./stats.ts";
import { decode as decodePng, encode as encodePng } from "fast-png";

/** What the part measured (milliseconds). */
export interface DicomNodeBench {
  size: string;
  instances: number;
  v1_dicom_seg_ms: ReturnType<typeof summarize>;
  node_receive_to_ack_ms: ReturnType<typeof summarize>;
  added_median_ms: number;
  note: string;
}

/** A 256×256 crop of the hc18 sample, as PNG bytes. */
async function crop256(): Promise<URL> {
  const png = decodePng(
    await Deno.readFile(new URL("../models/hc18/samples/001_HC.png", import.meta.url)),
  );
  const out = new Uint8Array(256 * 256 * png.channels);
  const x0 = Math.floor((png.width - 256) / 2), y0 = Math.floor((png.height - 256) / 2);
  for (let y = 0; y < 256; y++) {
    for (let x = 0; x < 256 * png.channels; x++) {
      out[y * 256 * png.channels + x] = png
        .data[((y0 + y) * png.width + x0) * png.channels + x] as number;
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-bench-dicom-" });
  const path = `${dir}/crop.png`;
  await Deno.writeFile(
    path,
    encodePng({ width: 256, height: 256, data: out, channels: png.channels, depth: 8 }),
  );
  return new URL(`file://${path}`);
}

/** Runs the part. */
export async function dicomNodeLatency(instances = 30, warmup = 3): Promise<DicomNodeBench> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-bench-node-" });
  const sample = await crop256();
  await using orthanc = new Orthanc();
  await orthanc.start();
  const port = freePort(), dimsePort = freePort();
  await using proc = new ServerProcess(["run", "-A", "main.ts"], {
    PORT: String(port),
    TINYUNET_HOST: "127.0.0.1",
    TINYUNET_WATCH: "off",
    TINYUNET_DIMSE_PORT: String(dimsePort),
    TINYUNET_DIMSE_ROUTES: "US=hc18",
    TINYUNET_DIMSE_DESTINATION: `${orthanc.aet}@127.0.0.1:${orthanc.dicomPort}`,
    TINYUNET_OUTBOX: `${dir}/outbox`,
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base);
    await proc.waitForLog((l) => l.msg === "dimse listening", "the DIMSE listener");
    const study = testUid(), series = testUid();
    const files: { path: string; bytes: Uint8Array; uid: string }[] = [];
    for (let i = 0; i < instances + warmup; i++) {
      const { bytes, sopInstanceUid } = await sampleInstance(
        sample,
        US_SOP_CLASS,
        "US",
        study,
        series,
        i + 1,
      );
      const path = `${dir}/us-${i}.dcm`;
      await Deno.writeFile(path, bytes);
      files.push({ path, bytes, uid: sopInstanceUid });
    }
    progress(`dicom: /v1 dicom-seg × ${instances}`);
    const v1: number[] = [];
    for (const [i, f] of files.entries()) {
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/models/hc18/segment?format=dicom-seg`, {
        method: "POST",
        headers: { "content-type": "application/dicom" },
        body: f.bytes as Uint8Array<ArrayBuffer>,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`/v1 answered ${res.status}`);
      if (i >= warmup) v1.push(performance.now() - t0);
    }
    progress(`dicom: storescu → node → Orthanc × ${instances}`);
    const node: number[] = [];
    for (const [i, f] of files.entries()) {
      const out = await new Deno.Command("storescu", {
        args: ["-aet", "BENCH", "-aec", "TINYUNET", "127.0.0.1", String(dimsePort), f.path],
        stdout: "null",
        stderr: "null",
      }).output();
      if (out.code !== 0) throw new Error(`storescu exited ${out.code}`);
      const line = await waitUntil(
        () => proc.json().find((l) => l.msg === "seg delivered" && l.request_id === f.uid),
        "the SEG delivered",
        30_000,
        2,
      );
      if (i >= warmup) node.push(Number(line.latency_ms));
    }

    const a = summarize(v1), b = summarize(node);
    return {
      size: "256×256 grey (hc18 sample crop), Ultrasound Image Storage, Explicit VR LE",
      instances,
      v1_dicom_seg_ms: a,
      node_receive_to_ack_ms: b,
      added_median_ms: round(b.median_ms - a.median_ms, 2),
      note:
        "node: C-STORE data set received → SEG acknowledged by Orthanc (C-STORE), from the node's `seg delivered` log (ms resolution); /v1: client-side request time of ?format=dicom-seg; one instance at a time, same files",
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
