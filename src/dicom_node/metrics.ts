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
import { Counter, Gauge, Histogram, type Metric, type Registry } from "prom-client";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];

/** The node's counters, gauges and histograms. */
export class DicomNodeMetrics {
  readonly received = new Counter({
    name: "tinyunet_dicom_instances_received_total",
    help: "DICOM instances received (via: dimse C-STORE, stow STOW-RS)",
    labelNames: ["via"] as const,
    registers: [],
  });
  readonly segmented = new Counter({
    name: "tinyunet_dicom_instances_segmented_total",
    help: "Received instances segmented into a SEG",
    labelNames: ["via", "model"] as const,
    registers: [],
  });
  readonly notRouted = new Counter({
    name: "tinyunet_dicom_instances_not_routed_total",
    help: "Received instances acknowledged but not segmented: no model for their Modality",
    labelNames: ["via"] as const,
    registers: [],
  });
  readonly failed = new Counter({
    name: "tinyunet_dicom_instances_failed_total",
    help: "Received instances that could not be decoded or segmented",
    labelNames: ["via", "code"] as const,
    registers: [],
  });
  readonly sent = new Counter({
    name: "tinyunet_dicom_segs_sent_total",
    help: "SEGs acknowledged by a destination",
    labelNames: ["destination"] as const,
    registers: [],
  });
  readonly sendFailures = new Counter({
    name: "tinyunet_dicom_segs_send_failures_total",
    help: "SEG delivery failures (kind: retry = will be repeated, rejected = refused for good)",
    labelNames: ["destination", "kind"] as const,
    registers: [],
  });
  readonly dropped = new Counter({
    name: "tinyunet_dicom_outbox_dropped_total",
    help: "SEGs dropped from a full outbox (oldest first, past TINYUNET_OUTBOX_MAX)",
    labelNames: ["destination"] as const,
    registers: [],
  });
  readonly delivery = new Histogram({
    name: "tinyunet_dicom_delivery_seconds",
    help: "Instance received → its SEG acknowledged by the destination",
    labelNames: ["destination"] as const,
    buckets: BUCKETS,
    registers: [],
  });
  readonly associations = new Counter({
    name: "tinyunet_dicom_associations_total",
    help: "DIMSE associations requested (result: accepted, rejected)",
    labelNames: ["result"] as const,
    registers: [],
  });
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
