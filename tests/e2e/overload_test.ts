/**
 * Overload: wrk (Debian `wrk`) posts a sample PNG to the real server (shipped models,
 * default settings) on 8 connections, then on 200, each for `TINYUNET_OVERLOAD_SECONDS`
 * (default 10). Under 200 connections the server must keep doing useful work:
 *
 * - 2xx goodput ≥ 80 % of the 8-connection goodput;
 * - p99 latency of the 2xx ≤ 3× the 8-connection p99 (from the server's access log, so
 *   refusals do not dilute it);
 * - no 5xx other than 503 (refusals are 503 `queue_full`, held `TINYUNET_BUSY_DELAY_MS`).
 *
 * The c=200 phase is bracketed by two c=8 phases; a second attempt runs only when the
 * first misses a ratio. About 40 s (80 s with the second attempt).
 */
import assert from "node:assert/strict";
import { wrkPostScript } from "../helpers/wrk.ts";
import { spawnShippedServer, waitReady } from "../helpers/server_process.ts";

const SECONDS = Number(Deno.env.get("TINYUNET_OVERLOAD_SECONDS") ?? 10);

interface Phase {
  ok: number;
  refused: number;
  p99: number;
  statuses: Map<number, number>;
  text: string;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN;
}

Deno.test({
  name: "overload: wrk -c200 keeps ≥ 80 % of the c=8 goodput, 2xx p99 ≤ 3×, no 5xx but 503",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = spawnShippedServer({});
    const { base } = server;
    await waitReady(base);
    const dir = await Deno.makeTempDir();
    const script = await wrkPostScript(dir);
    const wrk = async (connections: number, seconds: number): Promise<Phase> => {
      const from = server.lines.length;
      const out = await new Deno.Command("wrk", {
        args: [
          "-t2",
          `-c${connections}`,
          `-d${seconds}s`,
          "--timeout",
          "30s",
          "-s",
          script,
          `${base}/v1/segment`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.ok(out.success, text);
      await new Promise((r) => setTimeout(r, 300)); // the last log lines
      const lines = server.lines.slice(from).flatMap((l) => {
        try {
          const v = JSON.parse(l);
          return v.msg === "request" ? [v] : [];
        } catch {
          return [];
        }
      });
      const statuses = new Map<number, number>();
      for (const l of lines) statuses.set(l.status, (statuses.get(l.status) ?? 0) + 1);
      const ok = lines.filter((l) => l.status === 200).map((l) => l.duration_ms as number);
      return { ok: ok.length, refused: statuses.get(503) ?? 0, p99: p99(ok), statuses, text };
    };
    await wrk(8, 2); // warm-up
    const show = (name: string, p: Phase) =>
      console.log(
        `${name}: ${p.ok} × 2xx (${(p.ok / SECONDS).toFixed(1)}/s), 2xx p99 ${
          p.p99.toFixed(0)
        } ms, statuses ${JSON.stringify([...p.statuses])}`,
      );
    // The c=200 phase is bracketed by two c=8 phases (their mean is the reference), so drift
    // in what else this shared machine runs does not decide the ratio. A second bracketed
    // attempt is made only when the first misses a ratio; the hard rules (no 5xx but 503,
    // no socket errors) hold in every phase of every attempt.
    let verdict = "";
    for (let attempt = 1; attempt <= 2; attempt++) {
      const before = await wrk(8, SECONDS);
      const c200 = await wrk(200, SECONDS);
      const after = await wrk(8, SECONDS);
      show(`attempt ${attempt} c=8 before`, before);
      show(`attempt ${attempt} c=200`, c200);
      show(`attempt ${attempt} c=8 after`, after);
      for (const [status] of c200.statuses) {
        assert.ok(status < 500 || status === 503, `a ${status} under overload`);
      }
      assert.doesNotMatch(c200.text, /Socket errors/, c200.text);
      assert.ok(before.ok > 0 && after.ok > 0);
      const refOk = (before.ok + after.ok) / 2;
      const refP99 = (before.p99 + after.p99) / 2;
      const failures = [];
      if (c200.ok < 0.8 * refOk) {
        failures.push(`c=200 goodput ${c200.ok} < 80 % of c=8's ${refOk}`);
      }
      if (c200.p99 > 3 * refP99) {
        failures.push(`c=200 2xx p99 ${c200.p99} ms > 3 × ${refP99.toFixed(0)} ms`);
      }
      verdict = failures.join("; ");
      if (!verdict) break;
      console.log(`attempt ${attempt} missed: ${verdict}`);
    }
    assert.equal(verdict, "", verdict);
    await Deno.remove(dir, { recursive: true });
  },
});
