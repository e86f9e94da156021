/**
 * Reads Prometheus text format (what `/metrics` serves) into samples, for assertions.
 *
 * @module
 */

/** One sample line: metric name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format (comments skipped; label values unescaped). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * The value of the one sample with this name whose labels include `labels`.
 * @throws {Error} when no sample or more than one matches (a missing series is a failure, not 0)
 */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const hits = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (hits.length > 1) {
    throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  if (hits.length === 0) {
    throw new Error(`no sample of ${name} matches ${JSON.stringify(labels)}`);
  }
  return hits[0].value;
}

/** `tinyunet_http_requests_total` of one route and status (POST unless said), via {@link sampleValue}. */
export function httpRequests(samples: Sample[], route: string, status: number, method = "POST") {
  return sampleValue(samples, "tinyunet_http_requests_total", {
    method,
    route,
    status: String(status),
  });
}
