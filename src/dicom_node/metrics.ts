/**
 * The DICOM node's Prometheus metrics, attached to the server's registry (so they appear
 * on `/metrics`):
 *
 * - `tinyunet_dicom_instances_received_total{via}` (via: dimse, stow)
 * - `tinyunet_dicom_instances_segmented_total{via,model}`
 * - `tinyunet_dicom_instances_not_routed_total{via}` (acknowledged, no model for the Modality)
 * - `tinyunet_dicom_instances_failed_total{via,code}` (could not be decoded or segmented)
 * - `tinyunet_dicom_segs_sent_total{destination}`, `tinyunet_dicom_segs_send_failures_total{destination,kind}`
 *   (kind: retry = the attempt failed and will be repeated; rejected = refused for good)
 * - `tinyunet_dicom_outbox_depth{destination}`, `tinyunet_dicom_outbox_dropped_total{destination}`
 * - `tinyunet_dicom_delivery_seconds{destination}`: instance received → SEG acknowledged
 * - `tinyunet_dicom_associations_total{result}`, `tinyunet_dicom_associations_active`
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Metric, type Registry } from "../server/prom.ts";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];

/** A counter outside the default registry ({@link DicomNodeMetrics.attach} adds it to the server's). */
function counter<L extends string>(name: string, help: string, labelNames: readonly L[]) {
  return new Counter<L>({ name, help, labelNames, registers: [] });
}

/** The node's counters, gauges and histograms. */
export class DicomNodeMetrics {
  readonly received = counter(
    "tinyunet_dicom_instances_received_total",
    "DICOM instances received (via: dimse C-STORE, stow STOW-RS)",
    ["via"],
  );
  readonly segmented = counter(
    "tinyunet_dicom_instances_segmented_total",
    "Received instances segmented into a SEG",
    ["via", "model"],
  );
  readonly notRouted = counter(
    "tinyunet_dicom_instances_not_routed_total",
    "Received instances acknowledged but not segmented: no model for their Modality",
    ["via"],
  );
  readonly failed = counter(
    "tinyunet_dicom_instances_failed_total",
    "Received instances that could not be decoded or segmented",
    ["via", "code"],
  );
  readonly sent = counter(
    "tinyunet_dicom_segs_sent_total",
    "SEGs acknowledged by a destination",
    ["destination"],
  );
  readonly sendFailures = counter(
    "tinyunet_dicom_segs_send_failures_total",
    "SEG delivery failures (kind: retry = will be repeated, rejected = refused for good)",
    ["destination", "kind"],
  );
  readonly dropped = counter(
    "tinyunet_dicom_outbox_dropped_total",
    "SEGs dropped from a full outbox (oldest first, past TINYUNET_OUTBOX_MAX)",
    ["destination"],
  );
  readonly delivery = new Histogram({
    name: "tinyunet_dicom_delivery_seconds",
    help: "Instance received → its SEG acknowledged by the destination",
    labelNames: ["destination"] as const,
    buckets: BUCKETS,
    registers: [],
  });
  readonly associations = counter(
    "tinyunet_dicom_associations_total",
    "DIMSE associations requested (result: accepted, rejected)",
    ["result"],
  );
  readonly activeAssociations = new Gauge({
    name: "tinyunet_dicom_associations_active",
    help: "DIMSE associations open now",
    registers: [],
  });
  readonly outboxDepth: Gauge<"destination">;

  /** @param depth SEGs waiting per destination, read at scrape time */
  constructor(depth: () => Record<string, number>) {
    this.outboxDepth = new Gauge({
      name: "tinyunet_dicom_outbox_depth",
      help: "SEGs waiting in the outbox per destination",
      labelNames: ["destination"] as const,
      registers: [],
      collect() {
        this.reset();
        for (const [destination, n] of Object.entries(depth())) this.set({ destination }, n);
      },
    });
  }

  /** Adds every metric to a registry (the server's). */
  attach(register: Registry): void {
    const all: Metric<string>[] = [
      this.received,
      this.segmented,
      this.notRouted,
      this.failed,
      this.sent,
      this.sendFailures,
      this.dropped,
      this.delivery,
      this.associations,
      this.activeAssociations,
      this.outboxDepth,
    ];
    for (const m of all) {
      try {
        register.registerMetric(m);
      } catch { /* already attached to this registry */ }
    }
  }
}
