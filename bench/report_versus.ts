/**
 * RESULTS.md section for bench/versus.ts: this server against the FastAPI + PyTorch peer.
 *
 * @module
 */
import type { BenchResults } from "./results.ts";

function fmt(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || Number.isNaN(v) ? "–" : v.toFixed(digits);
}

/** The section's lines (empty when the part did not run). */
export function renderVersus(r: BenchResults): string[] {
  const v = r.versus;
  if (!v) return [];
  const out: string[] = [];
  out.push(`## 4a. Against the obvious Python server`, "");
  out.push(
    `Peer: \`${v.peer.command}\` — FastAPI + uvicorn (one process) + PyTorch ${
      v.peer.torch ?? "?"
    } with ${
      v.peer.torch_threads ?? "?"
    } torch thread, PIL decode/encode, the same TinyUnet (tools/distill/nets.py) with the weights of \`${v.peer.model_dir}/model.onnx\`, the same contract (raw PNG in, PNG mask at the image's size out, the card's largest-region clean-up). Load: ${v.load_generator}, body \`${v.image}\`, the same for every server; rounds alternate between servers (every server at c=1, then at c=8, then the next round), each timed level after a warm-up at the same concurrency. CPU per request: the server process's utime+stime (all threads) over the timed level / 2xx responses — what a request costs whatever else the machine runs.`,
    "",
  );
  out.push(
    `| server | c | req/s (median of rounds) | p50 ms (median) | p99 ms (worst round) | CPU ms/request | model: req/s on 2 free cores | idle RSS MiB | RSS after, max MiB | ready ms | mask = ours |`,
    `|---|---|---|---|---|---|---|---|---|---|---|`,
  );
  for (const s of v.servers) {
    if (s.error) {
      out.push(
        `| ${s.label} | – | did not start: ${
          s.error.slice(0, 120).replaceAll("\n", " ")
        } |||||||| `,
      );
      continue;
    }
    const rss = v.levels.filter((l) => l.server === s.id).map((l) => l.rss_after_mib ?? 0);
    for (const x of v.summary.filter((y) => y.server === s.id)) {
      out.push(
        `| ${s.label} | ${x.connections} | ${fmt(x.rps)} | ${fmt(x.p50_ms, 2)} | ${
          fmt(x.p99_ms, 2)
        } | ${fmt(x.cpu_ms_per_request, 2)} | ${fmt(x.two_free_cores_rps_model, 0)} | ${
          fmt(s.rss_idle_mib)
        } | ${rss.length ? fmt(Math.max(...rss)) : "–"} | ${fmt(s.ready_ms, 0)} | ${
          s.mask_agreement === null ? "–" : `${fmt(100 * s.mask_agreement, 2)} %`
        } |`,
      );
    }
  }
  out.push("");
  for (const x of v.ratios) {
    out.push(
      `- **c=${x.connections}: ours/peer throughput ${x.throughput}×** (measured: our median round over the peer's best${
        x.throughput_medians === undefined ? "" : `; median over median ${x.throughput_medians}×`
      }); peer CPU per request / ours: ${
        x.cpu_per_request ?? "–"
      }× (measured); two-free-cores model ours/peer: ${x.two_free_cores_model ?? "–"}× (a model).`,
    );
  }
  out.push(
    "",
    `The model column is not a measurement: min(1000 / the busiest thread's CPU ms per request, 2000 / all threads' CPU ms per request), from the CPU each server spent in this run — what it would serve on two cores of its own, if nothing else ran. Busiest threads at c=8 (CPU ms per request, last round):`,
    "",
  );
  for (const srv of v.servers) {
    const l = v.levels.filter((x) => x.server === srv.id && x.connections === 8).at(-1);
    if (l) {
      out.push(
        `- ${srv.id}: ${l.threads_ms_per_request.map((t) => `${t.name} ${t.ms}`).join(", ")}`,
      );
    }
  }
  out.push("", `Every round (req/s; p50/p99 ms):`, "");
  const rounds = [...new Set(v.levels.map((l) => l.round))];
  for (const rnd of rounds) {
    out.push(
      `- round ${rnd}: ` +
        v.levels.filter((l) => l.round === rnd).map((l) =>
          `${l.server} c=${l.connections} ${l.rps} (${l.latency_ms.p50}/${l.latency_ms.p99}${
            l.errors ? `, ${l.errors} errors` : ""
          })`
        ).join("; "),
    );
  }
  out.push("");
  return out;
}
