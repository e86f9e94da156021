/**
 * prom-client's metric classes, loaded from their own files instead of the package index.
 *
 * The index also loads the Pushgateway client (node:http, node:https), the cluster
 * aggregator (node:cluster) and the default Node metrics (which pull in
 * `@opentelemetry/api`), none of which this server uses: importing the index took
 * 64 ms of every start against 16-23 ms for these four files (probe, 2026-12-02, after
 * node:zlib; 154 ms against 21 under `--cpu-prof`). Types are the index's own.
 *
 * @module
 */
import type * as Prom from "prom-client";
import RegistryImpl from "prom-client/lib/registry.js";
import CounterImpl from "prom-client/lib/counter.js";
import GaugeImpl from "prom-client/lib/gauge.js";
import HistogramImpl from "prom-client/lib/histogram.js";

/** prom-client's `Registry`. */
export const Registry = RegistryImpl as typeof Prom.Registry;
/** prom-client's `Counter`. */
export const Counter = CounterImpl as typeof Prom.Counter;
/** prom-client's `Gauge`. */
export const Gauge = GaugeImpl as typeof Prom.Gauge;
/** prom-client's `Histogram`. */
export const Histogram = HistogramImpl as typeof Prom.Histogram;

export type { Metric } from "prom-client";
/** An instance of prom-client's `Registry`. */
export type Registry = Prom.Registry;
/** An instance of prom-client's `Counter`. */
export type Counter<T extends string = string> = Prom.Counter<T>;
/** An instance of prom-client's `Gauge`. */
export type Gauge<T extends string = string> = Prom.Gauge<T>;
/** An instance of prom-client's `Histogram`. */
export type Histogram<T extends string = string> = Prom.Histogram<T>;
