import assert from "node:assert/strict";
import { Registry } from "../../../src/server/prom.ts";
import { BATCH_BYTES, Delivery } from "../../../src/dicom_node/delivery.ts";
import { DicomNodeMetrics } from "../../../src/dicom_node/metrics.ts";
import { SegStore } from "../../../src/dicom_node/seg_store.ts";
import type { OutgoingSeg, SegSender, SendResult } from "../../../src/dicom_node/sender.ts";
import { waitUntil } from "../../helpers/wait.ts";

/** A destination that is down for the first `downFor` attempts and refuses UIDs ending in 9. */
class FlakySender implements SegSender {
  readonly name = "dimse";
  readonly target = "test";
  attempts = 0;
  received: string[] = [];
  constructor(public downFor: number) {}
  send(segs: OutgoingSeg[]): Promise<SendResult[]> {
    this.attempts++;
    if (this.attempts <= this.downFor) return Promise.reject(new Error("connection refused"));
    return Promise.resolve(segs.map((s): SendResult => {
      if (s.sopInstanceUid.endsWith("9")) return { status: "rejected", reason: "no" };
      this.received.push(s.sopInstanceUid);
      return { status: "ok" };
    }));
  }
}

Deno.test("delivery: retries while the destination is down, then delivers everything once; refusals go to failed/", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-delivery-" });
  const store = new SegStore(dir, ["dimse"], 100, 0);
  const metrics = new DicomNodeMetrics(() => ({ dimse: store.pending("dimse").length }));
  const register = new Registry();
  metrics.attach(register);
  const sender = new FlakySender(3);
  const delivery = new Delivery(store, sender, metrics, 20);
  try {
    for (const uid of ["1.1", "1.2", "1.9"]) {
      await store.put(new Uint8Array(4), uid, "5.5", Date.now());
    }
    delivery.start();
    await waitUntil(() => store.pending("dimse").length === 0, "the outbox to empty", 10_000);
    assert.ok(sender.attempts >= 4, "three failed attempts, then one that worked");
    assert.deepEqual(sender.received, ["1.1", "1.2"]);
    assert.deepEqual(store.failed("dimse").map((k) => k.segUid), ["1.9"]);
    await store.put(new Uint8Array(4), "1.3", "5.6", Date.now());
    delivery.wake();
    await waitUntil(() => sender.received.includes("1.3"), "a new SEG sent at once", 5_000);
    // the counter moves once the send's answer is handled, a moment after the sender saw it
    const text = await waitUntil(
      async () => {
        const t = await register.metrics();
        return /tinyunet_dicom_segs_sent_total\{destination="dimse"\} 3/.test(t) ? t : null;
      },
      "three SEGs counted as sent",
      5_000,
    );
    assert.match(
      text,
      /tinyunet_dicom_segs_send_failures_total\{destination="dimse",kind="rejected"\} 1/,
    );
    assert.match(text, /tinyunet_dicom_outbox_depth\{destination="dimse"\} 0/);
  } finally {
    await delivery.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery: a queued file that vanished is taken off the queue; the rest still go", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-delivery-" });
  const store = new SegStore(dir, ["dimse"], 100, 0);
  const metrics = new DicomNodeMetrics(() => ({}));
  const sender = new FlakySender(0);
  const delivery = new Delivery(store, sender, metrics, 20);
  try {
    const gone = await store.put(new Uint8Array(4), "2.1", "5.5", Date.now());
    await store.put(new Uint8Array(4), "2.2", "5.6", Date.now());
    await Deno.remove(`${dir}/queue/dimse/${gone.key}.dcm`);
    delivery.start();
    await waitUntil(() => store.pending("dimse").length === 0, "the outbox to empty", 10_000);
    assert.deepEqual(sender.received, ["2.2"]);
  } finally {
    await delivery.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery: a batch stops growing at BATCH_BYTES (large multi-frame SEGs are not all read at once)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-delivery-" });
  const store = new SegStore(dir, ["dimse"], 100, 0);
  const batches: number[] = [];
  const sender: SegSender = {
    name: "dimse",
    target: "test",
    send: (segs) => {
      batches.push(segs.length);
      return Promise.resolve(segs.map((): SendResult => ({ status: "ok" })));
    },
  };
  const delivery = new Delivery(store, sender, new DicomNodeMetrics(() => ({})), 20);
  try {
    for (const uid of ["3.1", "3.2", "3.3"]) {
      await store.put(new Uint8Array(BATCH_BYTES / 2 + 1), uid, "5.5", Date.now());
    }
    delivery.start();
    await waitUntil(() => store.pending("dimse").length === 0, "the outbox to empty", 10_000);
    assert.deepEqual(batches, [2, 1]);
  } finally {
    await delivery.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
