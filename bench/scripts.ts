/**
 * Runs the standalone benchmark scripts kept beside this one
 * (`bench/tfjs_vs_ort.ts`: tfjs-wasm vs onnxruntime-web WASM incl. the `.wasm` bytes each
 * loads; `bench/quant_latency.ts`: int8 vs fp32) when they exist, each as its own process
 * with its default settings, and keeps the JSON they print, so their figures land in the
 * same results file from the same run.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { progress } from "./progress.ts";

const ROOT = new URL("../", import.meta.url);

/** Standalone benchmark scripts. */
export const STANDALONE_SCRIPTS = [
  "bench/tfjs_vs_ort.ts",
  "bench/quant_latency.ts",
  "bench/codec_choices.ts",
  "bench/conv_layers.ts",
  "bench/kernel_widths.ts",
];

/** What one script printed. */
export interface ScriptResult {
  script: string;
  present: boolean;
  exit_code?: number;
  seconds?: number;
  /** the JSON objects it printed (one per line) */
  json?: unknown[];
  /** the end of its output when it printed no JSON or failed */
  tail?: string;
  /** why it was not run here */
  note?: string;
}

/** Runs each present script (timeout per script), except those another part already ran. */
export async function runStandaloneScripts(
  timeoutMs: number,
  alreadyRun: string[] = [],
): Promise<ScriptResult[]> {
  const out: ScriptResult[] = [];
  for (const script of STANDALONE_SCRIPTS) {
    if (!existsSync(new URL(script, ROOT))) {
      out.push({ script, present: false });
      continue;
    }
    if (alreadyRun.includes(script)) {
      out.push({ script, present: true, note: "run by the quant part (section 3)" });
      continue;
    }
    progress(`script: ${script}`);
    const t0 = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", script],
      cwd: ROOT,
      env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* done */ }
    }, timeoutMs);
    const res = await child.output();
    clearTimeout(timer);
    const text = new TextDecoder().decode(res.stdout);
    const json: unknown[] = [];
    try {
      json.push(JSON.parse(text.slice(text.indexOf("{")))); // one (possibly pretty-printed) object
    } catch {
      for (const line of text.split("\n")) {
        if (!line.trim().startsWith("{")) continue;
        try {
          json.push(JSON.parse(line));
        } catch { /* not JSON */ }
      }
    }
    const r: ScriptResult = {
      script,
      present: true,
      exit_code: res.code,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      json,
    };
    if (!res.success || json.length === 0) {
      r.tail = (text + new TextDecoder().decode(res.stderr)).slice(-800);
    }
    out.push(r);
  }
  return out;
}
