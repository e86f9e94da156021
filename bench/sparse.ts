/**
 * Part `sparse`: requests one at a time with a pause between them — a scanner or a PACS node
 * sending each image as it comes, not wrk's back-to-back load. Per model (the ISBI student at
 * 512², the ISIC one at 256×192, each with a shipped sample), `requests` requests `gapMs`
 * apart after the server has been ready and idle 3 s, with the defaults and with
 * `TINYUNET_NATIVE_ARENA=0` and `=1` (an arena per session), and with requests spaced past the
 * lane idle time (each meets an arena shrunk since the last), in alternating rounds. Per request: the inference time the
 * server reports (`Server-Timing`), the round trip, and the server's minor page faults
 * (a fresh 4-KiB page costs ~15 µs on the project's VM). The first request of each model is
 * reported apart (it sizes the arena, or faults in what the warm-up did not touch).
 *
 * @module
 */
import { procStat } from "./memory.ts";
import { progress } from "./progress.ts";
import { startServer } from "./server.ts";
import { median, percentile, round } from "./stats.ts";

const ROOT = new URL("../", import.meta.url);

/** The requests sent: model and sample image (repository-relative). */
export const SPARSE_MODELS = [
  { model: "isbi2012-em", image: "models/isbi2012-em/samples/0.png" },
  { model: "isic2017", image: "models/isic2017/samples/ISIC_0000011.png" },
] as const;

/**
 * The configurations compared; `idle-shrunk` spaces its requests past the lane idle time, so
 * each meets the shared arena shrunk since the one before (what a pause longer than
 * `TINYUNET_LANE_IDLE_MS` does with the defaults).
 */
export const SPARSE_CONFIGS: readonly {
  id: string;
  label: string;
  env: Record<string, string>;
  gapMs?: number;
}[] = [
  { id: "defaults", label: "defaults (one arena, shared)", env: {} },
  {
    id: "own-arenas",
    label: "TINYUNET_NATIVE_ARENA=1 (an arena per session)",
    env: { TINYUNET_NATIVE_ARENA: "1" },
  },
  { id: "arena-off", label: "TINYUNET_NATIVE_ARENA=0", env: { TINYUNET_NATIVE_ARENA: "0" } },
  {
    id: "idle-shrunk",
    label: "defaults, each request after the idle shrink (TINYUNET_LANE_IDLE_MS=400, 900 ms apart)",
    env: { TINYUNET_LANE_IDLE_MS: "400" },
    gapMs: 900,
  },
];

/** One model under one configuration: medians over the rounds' requests after the first. */
export interface SparseRow {
  config: string;
  model: string;
  first_inference_ms: number[];
  inference_ms: number;
  inference_p90_ms: number;
  round_trip_ms: number;
  faults_per_request: number;
  requests: number;
}

/** The part's result. */
export interface SparseResult {
  gap_ms: number;
  requests_per_round: number;
  rounds: number;
  rows: SparseRow[];
}

/** Minor page faults of a process so far. */
function minorFaults(pid: number): number {
  return Number(procStat(pid)?.fields[7] ?? NaN);
}

/** The `inference` duration of a `Server-Timing` header, if there. */
function inferenceMs(header: string | null): number {
  const m = /inference;dur=([\d.]+)/.exec(header ?? "");
  return m ? Number(m[1]) : NaN;
}

/** Runs the comparison. */
export async function sparseRequests(
  s: { rounds: number; requests: number; gapMs: number },
): Promise<SparseResult> {
  if (s.requests < 2) throw new Error("sparse: at least 2 requests per model (the first is apart)");
  const samples = new Map<
    string,
    { first: number[]; inf: number[]; rt: number[]; flt: number[] }
  >();
  const bodies = SPARSE_MODELS.map((m) => Deno.readFileSync(new URL(m.image, ROOT)));
  for (let rnd = 1; rnd <= s.rounds; rnd++) {
    for (const config of SPARSE_CONFIGS) {
      const server = await startServer({ env: { ...config.env, TINYUNET_WATCH: "off" } });
      try {
        await new Promise((r) => setTimeout(r, 3000));
        for (const [i, m] of SPARSE_MODELS.entries()) {
          const key = `${config.id}/${m.model}`;
          const acc = samples.get(key) ?? { first: [], inf: [], rt: [], flt: [] };
          samples.set(key, acc);
          for (let k = 0; k < s.requests; k++) {
            const f0 = minorFaults(server.pid);
            const t0 = performance.now();
            const res = await fetch(`${server.url}/v1/models/${m.model}/segment`, {
              method: "POST",
              headers: { "content-type": "image/png" },
              body: bodies[i],
            });
            await res.arrayBuffer();
            if (res.status !== 200) throw new Error(`${key}: status ${res.status}`);
            const rt = performance.now() - t0;
            const inf = inferenceMs(res.headers.get("server-timing"));
            if (!Number.isFinite(inf)) {
              throw new Error(`${key}: no inference time in Server-Timing`);
            }
            if (k === 0) acc.first.push(round(inf, 1));
            else {
              acc.inf.push(inf);
              acc.rt.push(rt);
              acc.flt.push(minorFaults(server.pid) - f0);
            }
            await new Promise((r) => setTimeout(r, config.gapMs ?? s.gapMs));
          }
          progress(
            `sparse: round ${rnd} ${key}: inference median ${
              round(median(acc.inf.slice(-(s.requests - 1))), 1)
            } ms`,
          );
        }
      } finally {
        await server.stop();
      }
    }
  }
  const rows: SparseRow[] = [];
  for (const config of SPARSE_CONFIGS) {
    for (const m of SPARSE_MODELS) {
      const acc = samples.get(`${config.id}/${m.model}`)!;
      rows.push({
        config: config.id,
        model: m.model,
        first_inference_ms: acc.first,
        inference_ms: round(median(acc.inf), 1),
        inference_p90_ms: round(percentile(acc.inf, 90), 1),
        round_trip_ms: round(median(acc.rt), 1),
        faults_per_request: round(median(acc.flt), 0),
        requests: acc.inf.length,
      });
    }
  }
  return { gap_ms: s.gapMs, requests_per_round: s.requests, rounds: s.rounds, rows };
}
