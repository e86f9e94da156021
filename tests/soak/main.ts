/**
 * `deno task soak` (not in CI): the real server (`main.ts`, shipped models) under mixed
 * traffic at saturation for `--minutes` (default 10), sampled every 10 s:
 *
 * - valid: 12 clients posting the shipped sample images in a loop (mask PNG, JSON or overlay);
 * - malformed: 2 clients replaying the seeded fuzz corpus (tests/helpers/fuzz_corpus.ts);
 * - attacks: 1 client every 5 s sending an IDAT bomb, a 20,000-scan JPEG or a 4096² RGBA16 PNG;
 * - slow: 4 clients that open a connection, send half a head or a body at a few bytes a
 *   second, and give up after 15 s.
 *
 * Each sample records the server's RSS (/proc), 2xx a second, and every status seen. The
 * run writes bench/SOAK.md (table, verdict), bench/soak.json and bench/soak.svg (RSS and
 * goodput over time). Verdict: RSS at the end (the last minute's median) within 20 % of the
 * first minute's (median), no 5xx but 503, the server alive. The server inherits the
 * environment (e.g. `MALLOC_ARENA_MAX`).
 *
 * @module
 */
import { parseStrict } from "../../tools/cli_args.ts";
import { fuzzCases } from "../helpers/fuzz_corpus.ts";
import { idatBomb, manyScanJpeg, zeroRgba16Png } from "../helpers/attacks.ts";
import { freePort, ServerProcess, waitReady } from "../helpers/server_process.ts";
import { serveArgs } from "../../lib/serve_command.ts";

const { values } = parseStrict(Deno.args, {
  minutes: { type: "string", default: "10" },
  out: { type: "string", default: "bench" },
});
const MINUTES = Number(values.minutes);
const OUT = values.out!;
const SAMPLE_MS = 10_000;

const root = new URL("../..", import.meta.url).pathname;
const samples: { model: string; bytes: Uint8Array<ArrayBuffer> }[] = [];
for (const model of ["isic2017", "hc18", "kvasir-seg", "isbi2012-em"]) {
  for (const e of Deno.readDirSync(`${root}models/${model}/samples`)) {
    if (e.name.endsWith(".png") && !e.name.includes("mask")) {
      samples.push({ model, bytes: Deno.readFileSync(`${root}models/${model}/samples/${e.name}`) });
    }
  }
}

const port = freePort();
const base = `http://127.0.0.1:${port}`;
const server = new ServerProcess(serveArgs(), {
  PORT: String(port),
  TINYUNET_HOST: "127.0.0.1",
  TINYUNET_WATCH: "off",
});
await waitReady(base);
console.log(`soak: ${MINUTES} min against ${base} (pid ${server.pid})`);

const statuses = new Map<number, number>();
let ok = 0, failures = 0;
const count = (status: number) => {
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  if (status >= 200 && status < 300) ok++;
};
const end = performance.now() + MINUTES * 60_000;
const running = () => performance.now() < end;

async function valid(i: number) {
  const formats = ["png", "json", "overlay"];
  for (let k = i; running(); k++) {
    const s = samples[k % samples.length];
    try {
      const res = await fetch(`${base}/v1/models/${s.model}/segment?format=${formats[k % 3]}`, {
        method: "POST",
        body: s.bytes,
        headers: { "content-type": "image/png" },
      });
      await res.arrayBuffer();
      count(res.status);
    } catch {
      failures++;
    }
  }
}

async function malformed(seed: number) {
  while (running()) {
    for (const c of fuzzCases(seed++, 200)) {
      if (!running()) return;
      try {
        const res = await fetch(base + c.path.replace("/lesion", "/isic2017"), {
          method: c.method,
          headers: c.headers,
          body: c.body,
        });
        await res.arrayBuffer();
        count(res.status);
      } catch {
        failures++;
      }
    }
  }
}

async function attacks() {
  const bodies = [
    { body: idatBomb(), type: "image/png" },
    { body: manyScanJpeg(), type: "image/jpeg" },
    { body: zeroRgba16Png(), type: "image/png" },
  ];
  for (let k = 0; running(); k++) {
    const a = bodies[k % bodies.length];
    try {
      const res = await fetch(`${base}/v1/segment`, {
        method: "POST",
        body: a.body,
        headers: { "content-type": a.type },
      });
      await res.arrayBuffer();
      count(res.status);
    } catch {
      failures++;
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
}

async function slow(i: number) {
  const enc = new TextEncoder();
  while (running()) {
    let conn: Deno.Conn | undefined;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const head = i % 2 === 0
        ? "POST /v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
        : "GET /v2/health/live HTTP/1.1\r\nHo";
      await conn.write(enc.encode(head));
      const stop = performance.now() + 15_000;
      while (running() && performance.now() < stop) {
        await conn.write(enc.encode("x"));
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch { /* closed by the server: expected */ }
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

interface Sample {
  t_s: number;
  rss_mib: number;
  goodput_per_s: number;
  statuses: Record<string, number>;
  client_failures: number;
}
const series: Sample[] = [];
const t0 = performance.now();
let lastOk = 0;
const sampler = setInterval(() => {
  const s: Sample = {
    t_s: Math.round((performance.now() - t0) / 1000),
    rss_mib: Math.round(server.rssMb() * 10) / 10,
    goodput_per_s: Math.round(((ok - lastOk) / (SAMPLE_MS / 1000)) * 10) / 10,
    statuses: Object.fromEntries([...statuses].sort()),
    client_failures: failures,
  };
  lastOk = ok;
  series.push(s);
  console.log(JSON.stringify(s));
}, SAMPLE_MS);

await Promise.all([
  ...Array.from({ length: 12 }, (_, i) => valid(i)),
  malformed(1),
  malformed(1000),
  attacks(),
  ...Array.from({ length: 4 }, (_, i) => slow(i)),
]);
clearInterval(sampler);
const alive = server.exited === undefined;
server.kill("SIGTERM");
const exit = await server.status(30_000);

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? (v[(v.length - 1) >> 1] + v[v.length >> 1]) / 2 : NaN;
};
// Medians of the first and the last minute: one sample can land on an attack's spike
// (a 4096² RGBA16 decode is +140 MiB for a second), the median does not.
const tEnd = series.at(-1)?.t_s ?? 0;
const baseline = median(series.filter((s) => s.t_s <= 60).map((s) => s.rss_mib));
const lastMinute = median(series.filter((s) => s.t_s > tEnd - 60).map((s) => s.rss_mib));
const last = series.at(-1)?.rss_mib ?? NaN;
const drift = (lastMinute - baseline) / baseline;
const fives = [...statuses].filter(([s]) => s >= 500 && s !== 503);
const pass = Math.abs(drift) <= 0.2 && alive && fives.length === 0;
const report = {
  minutes: MINUTES,
  first_minute_rss_mib: Math.round(baseline * 10) / 10,
  last_minute_rss_mib: Math.round(lastMinute * 10) / 10,
  end_rss_mib: last,
  malloc_arena_max: Deno.env.get("MALLOC_ARENA_MAX") ?? null,
  rss_drift: Math.round(drift * 1000) / 1000,
  mean_goodput_per_s: Math.round((ok / ((performance.now() - t0) / 1000)) * 10) / 10,
  statuses: Object.fromEntries(statuses),
  client_failures: failures,
  alive_at_end: alive,
  exit_code: exit.code,
  pass,
  series,
};
await Deno.mkdir(OUT, { recursive: true });
await Deno.writeTextFile(`${OUT}/soak.json`, JSON.stringify(report, null, 2) + "\n");
await Deno.writeTextFile(`${OUT}/soak.svg`, chart(series));
await Deno.writeTextFile(
  `${OUT}/SOAK.md`,
  [
    `# Soak run (${new Date().toISOString().slice(0, 16)} UTC, ${MINUTES} min)`,
    "",
    "`deno task soak`: mixed valid / malformed / attack / slow traffic at saturation against",
    "`main.ts` with the shipped models (see tests/soak/main.ts). ![RSS and goodput](soak.svg)",
    "",
    `- RSS (median of the first / last minute): ${report.first_minute_rss_mib} → ${report.last_minute_rss_mib} MiB (${
      (drift * 100).toFixed(1)
    } %; limit ±20 %) — **${
      Math.abs(drift) <= 0.2 ? "within" : "outside"
    }**; last sample ${last} MiB; MALLOC_ARENA_MAX=${report.malloc_arena_max ?? "unset"}`,
    `- goodput: ${report.mean_goodput_per_s} 2xx/s on average; statuses ${
      JSON.stringify(report.statuses)
    }; 5xx other than 503: ${fives.length ? JSON.stringify(fives) : "none"}`,
    `- client-side failures (connection errors): ${failures}; server alive at the end: ${alive}; exit code ${exit.code}`,
    "",
    "| t (s) | RSS (MiB) | 2xx/s |",
    "| ---: | ---: | ---: |",
    ...series.map((s) => `| ${s.t_s} | ${s.rss_mib} | ${s.goodput_per_s} |`),
    "",
  ].join("\n"),
);
console.log(
  `soak ${pass ? "passed" : "FAILED"}: RSS (minute medians) ${baseline.toFixed(0)} → ${
    lastMinute.toFixed(0)
  } MiB`,
);
Deno.exit(pass ? 0 : 1);

/** A small two-line SVG chart: RSS (MiB, left) and goodput (2xx/s, right) over time. */
function chart(points: Sample[]): string {
  const w = 640, h = 240, pad = 40;
  const tMax = Math.max(1, ...points.map((p) => p.t_s));
  const rMax = Math.max(1, ...points.map((p) => p.rss_mib)) * 1.1;
  const gMax = Math.max(1, ...points.map((p) => p.goodput_per_s)) * 1.1;
  const x = (t: number) => pad + (t / tMax) * (w - 2 * pad);
  const y = (v: number, max: number) => h - pad - (v / max) * (h - 2 * pad);
  const line = (f: (p: Sample) => number, max: number) =>
    points.map((p, i) => `${i ? "L" : "M"}${x(p.t_s).toFixed(1)},${y(f(p), max).toFixed(1)}`)
      .join(" ");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/>
<path d="${line((p) => p.rss_mib, rMax)}" fill="none" stroke="#c03" stroke-width="2"/>
<path d="${line((p) => p.goodput_per_s, gMax)}" fill="none" stroke="#06c" stroke-width="2"/>
<text x="${pad}" y="14" fill="#c03">RSS (MiB, max ${rMax.toFixed(0)})</text>
<text x="${w - pad}" y="14" fill="#06c" text-anchor="end">2xx/s (max ${gMax.toFixed(0)})</text>
<text x="${w / 2}" y="${h - 8}" text-anchor="middle">time (s, 0–${tMax})</text>
</svg>
`;
}
