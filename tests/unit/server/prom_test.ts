import assert from "node:assert/strict";
import * as index from "prom-client";
import { Counter, Gauge, Histogram, Registry } from "../../../src/server/prom.ts";

Deno.test("prom.ts: the classes loaded from their own files are the package index's", () => {
  assert.equal(Registry, index.Registry);
  assert.equal(Counter, index.Counter);
  assert.equal(Gauge, index.Gauge);
  assert.equal(Histogram, index.Histogram);
});

Deno.test("prom.ts: a registry from it exposes its metrics in the text format", async () => {
  const registry = new Registry();
  const hits = new Counter({ name: "hits_total", help: "hits", registers: [registry] });
  const took = new Histogram({
    name: "took_seconds",
    help: "took",
    buckets: [0.1, 1],
    registers: [registry],
  });
  hits.inc(2);
  took.observe(0.5);
  const text = await registry.metrics();
  assert.match(text, /^hits_total 2$/m);
  assert.match(text, /^took_seconds_bucket\{le="1"\} 1$/m);
  assert.match(text, /^took_seconds_bucket\{le="0.1"\} 0$/m);
});
