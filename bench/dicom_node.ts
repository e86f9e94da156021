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
import dcmjs from "dcmjs";
import { decode as decodePng } from "fast-png";
import { Orthanc } from "../lib/orthanc.ts";
import { startServer } from "./server.ts";
import { freePort } from "../lib/free_port.ts";
import { progress } from "./progress.ts";
import { round, summarize } from "./stats.ts";

const { DicomDict, DicomMetaDictionary } = dcmjs.data;
const US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1";

/** What the part measured (milliseconds). */
export interface DicomNodeBench {
  size: string;
  instances: number;
  v1_dicom_seg_ms: ReturnType<typeof summarize>;
  node_receive_to_ack_ms: ReturnType<typeof summarize>;
  added_median_ms: number;
  note: string;
}

/** 256×256 grey pixels: the centre of the hc18 sample (fetal ultrasound). */
async function crop256(): Promise<Uint8Array> {
  const png = decodePng(
    await Deno.readFile(new URL("../models/hc18/samples/001_HC.png", import.meta.url)),
  );
  const out = new Uint8Array(256 * 256);
  const x0 = Math.floor((png.width - 256) / 2), y0 = Math.floor((png.height - 256) / 2);
  for (let y = 0; y < 256; y++) {
    for (let x = 0; x < 256; x++) {
      out[y * 256 + x] = Number(png.data[((y0 + y) * png.width + x0 + x) * png.channels]);
    }
  }
  return out;
}

/** An Ultrasound Image Storage instance (Explicit VR LE) with fresh UIDs in one study/series. */
function usInstance(pixels: Uint8Array, study: string, series: string, n: number) {
  const sop = DicomMetaDictionary.uid();
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: US_IMAGE_STORAGE,
    MediaStorageSOPInstanceUID: sop,
    TransferSyntaxUID: "1.2.840.10008.1.2.1",
    ImplementationClassUID: "2.25.1",
  }));
  dict.dict = DicomMetaDictionary.denaturalizeDataset({
    SOPClassUID: US_IMAGE_STORAGE,
    SOPInstanceUID: sop,
    StudyInstanceUID: study,
    SeriesInstanceUID: series,
    Modality: "US",
    PatientName: "Bench^Patient",
    PatientID: "BENCH",
    InstanceNumber: String(n),
    SamplesPerPixel: 1,
    PhotometricInterpretation: "MONOCHROME2",
    Rows: 256,
    Columns: 256,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: [pixels.slice().buffer],
    _vrMap: { PixelData: "OB" },
  });
  return new Uint8Array(dict.write());
}

/** The node's cumulative delivery time (s) and count, from its /metrics. */
async function deliveries(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name}{destination="dimse"} `));
    return line ? Number(line.split(" ").pop()) : 0;
  };
  return {
    sum: value("tinyunet_dicom_delivery_seconds_sum"),
    count: value("tinyunet_dicom_delivery_seconds_count"),
  };
}

/** Runs the part. */
export async function dicomNodeLatency(instances = 30, warmup = 3): Promise<DicomNodeBench> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-bench-node-" });
  const pixels = await crop256();
  await using orthanc = new Orthanc();
  await orthanc.start();
  const dimsePort = freePort();
  const server = await startServer({
    env: {
      TINYUNET_WATCH: "off",
      TINYUNET_DIMSE_PORT: String(dimsePort),
      TINYUNET_DIMSE_ROUTES: "US=hc18",
      TINYUNET_DIMSE_DESTINATION: `${orthanc.aet}@127.0.0.1:${orthanc.dicomPort}`,
      TINYUNET_OUTBOX: `${dir}/outbox`,
    },
  });
  try {
    const study = DicomMetaDictionary.uid(), series = DicomMetaDictionary.uid();
    const files: { path: string; bytes: Uint8Array }[] = [];
    for (let i = 0; i < instances + warmup; i++) {
      const bytes = usInstance(pixels, study, series, i + 1);
      const path = `${dir}/us-${i}.dcm`;
      await Deno.writeFile(path, bytes);
      files.push({ path, bytes });
    }
    progress(`dicom: /v1 dicom-seg × ${instances}`);
    const v1: number[] = [];
    for (const [i, f] of files.entries()) {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/v1/models/hc18/segment?format=dicom-seg`, {
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
      // the listener starts once the models are warm: retry the first association briefly
      let code = 1;
      for (let attempt = 0; attempt < 50 && code !== 0; attempt++) {
        const before = await deliveries(server.url);
        code = (await new Deno.Command("storescu", {
          args: ["-aet", "BENCH", "-aec", "TINYUNET", "127.0.0.1", String(dimsePort), f.path],
          stdout: "null",
          stderr: "null",
        }).output()).code;
        if (code !== 0) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const end = performance.now() + 30_000;
        let after = before;
        while (after.count === before.count && performance.now() < end) {
          await new Promise((r) => setTimeout(r, 2));
          after = await deliveries(server.url);
        }
        if (after.count !== before.count + 1) {
          throw new Error("the SEG was not delivered to Orthanc");
        }
        if (i >= warmup) node.push((after.sum - before.sum) * 1000);
      }
      if (code !== 0) throw new Error(`storescu exited ${code}`);
    }
    const a = summarize(v1), b = summarize(node);
    return {
      size: "256×256 grey (hc18 sample crop), Ultrasound Image Storage, Explicit VR LE",
      instances,
      v1_dicom_seg_ms: a,
      node_receive_to_ack_ms: b,
      added_median_ms: round(b.median_ms - a.median_ms, 2),
      note:
        "node: C-STORE data set received → SEG acknowledged by Orthanc (C-STORE), from the node's tinyunet_dicom_delivery_seconds (ms resolution; one instance at a time, so each scrape's difference is one instance); /v1: client-side request time of ?format=dicom-seg; same files, warm-ups excluded",
    };
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
