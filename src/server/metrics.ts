/**
 * Prometheus metrics (`GET /metrics`, text format 0.0.4), one prom-client registry per
 * app, without prom-client's default Node process metrics (they read Node internals
 * Deno does not have; process_metrics.ts reads the standard ones itself).
 *
 * Per model and version, with Triton's names so existing dashboards work:
 * `nv_inference_request_success`, `nv_inference_request_failure` (runs that reached the
 * model and failed: queue full, deadline while queued, engine error; input that is
 * refused before the model shows in the HTTP counter as 4xx), `nv_inference_count`,
 * `nv_inference_queue_duration_us` and `nv_inference_compute_infer_duration_us`
 * (cumulative microseconds). Plus histograms `tinyunet_inference_queue_seconds` and
 * `tinyunet_inference_compute_seconds`, the gauge `tinyunet_queue_depth`, the info
 * metric `tinyunet_model_info{engine,precision,threads}`, `tinyunet_model_ready` and
 * `tinyunet_model_load_failed` per version of the repository index, and
 * `tinyunet_http_requests_total{method,route,status}` /
 * `tinyunet_http_request_duration_seconds{method,route}` labelled by the matched route
 * pattern (never the raw path, so fuzzed URLs cannot blow up the series count). And the
 * standard process metrics (`process_resident_memory_bytes` …, see process_metrics.ts).
 *
 * @example
 * ```ts
 * const metrics = new ServerMetrics(registry, "a1b2");
 * app.get("/metrics", async (c) => c.text((await metrics.exposition()).text));
 * ```
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "./prom.ts";
import { connectionStats } from "./connections/stats.ts";
import { registerProcessMetrics } from "./process_metrics.ts";
import type { InferenceEvent } from "../models/model_version.ts";
import type { ModelRegistry } from "../models/registry.ts";

const DURATION_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];
const MODEL_LABELS = ["model", "version"] as const;

/** The server's metrics, fed by the model registry's observer and the HTTP middleware. */
export class ServerMetrics {
  readonly register = new Registry();
  readonly #success: Counter<"model" | "version">;
  readonly #failure: Counter<"model" | "version" | "reason">;
  readonly #count: Counter<"model" | "version">;
  readonly #queueUs: Counter<"model" | "version">;
  readonly #computeUs: Counter<"model" | "version">;
  readonly #queueSeconds: Histogram<"model" | "version">;
  readonly #computeSeconds: Histogram<"model" | "version">;
  readonly #httpRequests: Counter<"method" | "route" | "status">;
  readonly #httpSeconds: Histogram<"method" | "route">;
  readonly #unsubscribe: () => void;

  /**
   * @param registry the models to report on (subscribes to their runs)
   * @param instance this isolate's id, exported as `tinyunet_instance_info`
   */
  constructor(registry: ModelRegistry, instance: string) {
    const registers = [this.register];
    this.#success = new Counter({
      name: "nv_inference_request_success",
      help: "Inference requests that succeeded",
      labelNames: MODEL_LABELS,
      registers,
    });
    this.#failure = new Counter({
      name: "nv_inference_request_failure",
      help:
        "Inference requests that reached the model and failed (reason: queue_full, aborted, failed)",
      labelNames: [...MODEL_LABELS, "reason"],
      registers,
    });
    this.#count = new Counter({
      name: "nv_inference_count",
      help: "Inferences performed (batch size 1 each)",
      labelNames: MODEL_LABELS,
      registers,
    });
    this.#queueUs = new Counter({
      name: "nv_inference_queue_duration_us",
      help: "Cumulative time requests waited in the model queue (µs)",
      labelNames: MODEL_LABELS,
      registers,
    });
    this.#computeUs = new Counter({
      name: "nv_inference_compute_infer_duration_us",
      help: "Cumulative time spent in the engine (µs)",
      labelNames: MODEL_LABELS,
      registers,
    });
    this.#queueSeconds = new Histogram({
      name: "tinyunet_inference_queue_seconds",
      help: "Time a run waited in the model queue",
      labelNames: MODEL_LABELS,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#computeSeconds = new Histogram({
      name: "tinyunet_inference_compute_seconds",
      help: "Time a run spent in the engine",
      labelNames: MODEL_LABELS,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#httpRequests = new Counter({
      name: "tinyunet_http_requests_total",
      help: "HTTP requests by matched route pattern and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#httpSeconds = new Histogram({
      name: "tinyunet_http_request_duration_seconds",
      help: "HTTP request duration by matched route pattern",
      labelNames: ["method", "route"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    new Gauge({
      name: "tinyunet_queue_depth",
      help: "Runs waiting or running, per model version",
      labelNames: MODEL_LABELS,
      registers,
      async collect() {
        this.reset();
        for (const mv of registry.all()) {
          this.set({ model: mv.name, version: mv.version }, await mv.queueDepth());
        }
      },
    });
    new Gauge({
      name: "tinyunet_model_info",
      help: "Loaded model versions (1) with the engine each precision runs on",
      labelNames: [...MODEL_LABELS, "engine", "precision", "threads"],
      registers,
      async collect() {
        this.reset();
        for (const mv of registry.all()) {
          for (const rt of await mv.runtime()) {
            this.set({
              model: mv.name,
              version: mv.version,
              engine: rt.engine,
              precision: rt.precision,
              threads: String(rt.threads),
            }, 1);
          }
        }
      },
    });
    new Gauge({
      name: "tinyunet_model_ready",
      help: "Every version in the repository index: 1 serving, 0 not (loading, unloaded or failed)",
      labelNames: MODEL_LABELS,
      registers,
      collect() {
        this.reset();
        for (const e of registry.index()) {
          this.set({ model: e.name, version: e.version }, e.state === "READY" ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "tinyunet_model_load_failed",
      help: "1 for a version whose last load failed (reason in /v2/repository/index and the log)",
      labelNames: MODEL_LABELS,
      registers,
      collect() {
        this.reset();
        for (const e of registry.failures()) {
          this.set({ model: e.name, version: e.version }, 1);
        }
      },
    });
    new Gauge({
      name: "tinyunet_connections",
      help:
        "Client connections open now (state=open) and the limit in force (state=max), TCP front only",
      labelNames: ["state"],
      registers,
      collect() {
        this.set({ state: "open" }, connectionStats.open);
        this.set({ state: "max" }, connectionStats.max);
      },
    });
    new Gauge({
      name: "tinyunet_connections_closed",
      help: "Connections the TCP front closed or refused, by reason (a running total)",
      labelNames: ["reason"],
      registers,
      collect() {
        for (const [reason, n] of Object.entries(connectionStats.closed)) this.set({ reason }, n);
      },
    });
    new Gauge({
      name: "tinyunet_instance_info",
      help: "This server isolate",
      labelNames: ["instance"],
      registers,
    }).set({ instance }, 1);
    registerProcessMetrics(registers);
    this.#unsubscribe = registry.observe((e) => this.observeInference(e));
  }

  /** Records one run (called by the registry's observer). */
  observeInference(e: InferenceEvent): void {
    const labels = { model: e.model, version: e.version };
    if (e.outcome !== "success") {
      this.#failure.inc({ ...labels, reason: e.outcome });
      return;
    }
    this.#success.inc(labels);
    this.#count.inc(labels);
    this.#queueUs.inc(labels, Math.round(e.queueMs * 1000));
    this.#computeUs.inc(labels, Math.round(e.computeMs * 1000));
    this.#queueSeconds.observe(labels, e.queueMs / 1000);
    this.#computeSeconds.observe(labels, e.computeMs / 1000);
  }

  /** Records one HTTP request (called by the `httpMetrics` middleware). */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.#httpRequests.inc({ method, route, status: String(status) });
    this.#httpSeconds.observe({ method, route }, seconds);
  }

  /** The Prometheus text exposition and its content type. */
  async exposition(): Promise<{ text: string; contentType: string }> {
    return { text: await this.register.metrics(), contentType: this.register.contentType };
  }

  /** Stops listening to the registry. */
  close(): void {
    this.#unsubscribe();
  }
}
