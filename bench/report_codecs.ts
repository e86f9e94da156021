/**
 * The "Codec stages" section of RESULTS.md and its target, from the JSON line that
 * `bench/codec_choices.ts` prints (run by the scripts part): the CPU work of one PNG
 * request besides the engine, stage by stage as served, and each choice side by side.
 *
 * @module
 */
import type { BenchResults } from "./results.ts";

/** Issue 14's goal for decode + preprocess + postprocess + encode of the bench's PNG. */
export const CODEC_STAGES_GOAL_MS = 1.2;

interface Stat {
  median_ms: number;
  p90_ms: number;
}

/** What bench/codec_choices.ts prints. */
export interface CodecChoices {
  benchmark: "codec_choices";
  image: string;
  size: [number, number];
  model: string;
  runs: number;
  checks: Record<string, boolean>;
  png_bytes: Record<string, number>;
  stats: Record<string, Stat>;
  stages_total_median_ms: number;
  served_pipeline_median_ms: number;
  served_pipeline_p90_ms: number;
}

/** The codec_choices output of a run, if its script ran and printed one. */
export function codecChoices(r: BenchResults): CodecChoices | null {
  const script = r.scripts?.find((s) => s.script === "bench/codec_choices.ts");
  const json = script?.json?.at(-1) as Partial<CodecChoices> | undefined;
  return json?.benchmark === "codec_choices" && json.stats && json.stages_total_median_ms
    ? json as CodecChoices
    : null;
}

/** Markdown lines of the section (none when the script did not run). */
export function renderCodecStages(r: BenchResults): string[] {
  const c = codecChoices(r);
  if (!c) return [];
  const row = (k: string) => {
    const s = c.stats[k];
    const bytes = c.png_bytes[k];
    return `| ${k} | ${s.median_ms} | ${s.p90_ms} |${
      bytes ? ` ${bytes.toLocaleString("en")} B` : ""
    } |`;
  };
  const stages = Object.keys(c.stats).filter((k) => k.startsWith("stage "));
  const choices = Object.keys(c.stats).filter((k) =>
    !k.startsWith("stage ") && k !== "served prepare + finish"
  );
  const failed = Object.entries(c.checks).filter(([, ok]) => !ok).map(([k]) => k);
  return [
    `## 5a. Codec stages (CPU work of one PNG request besides the engine)`,
    "",
    `\`bench/codec_choices.ts\`: ${c.image} (${
      c.size.join("×")
    }), ${c.model}, the model's real output; ${c.runs} interleaved rounds after 20 warm-up rounds. Checks: ${
      failed.length
        ? `**failed: ${failed.join(", ")}**`
        : `all passed (${Object.keys(c.checks).join(", ")})`
    }.`,
    "",
    "| stage as served | median ms | p90 ms | |",
    "|---|---|---|---|",
    ...stages.map(row),
    `| **Σ of the stages** | **${c.stages_total_median_ms}** | | goal ≤ ${CODEC_STAGES_GOAL_MS} ms |`,
    `| served \`prepare\` + \`finish\` timed as one | ${c.served_pipeline_median_ms} | ${c.served_pipeline_p90_ms} | |`,
    "",
    "Choices, side by side (the served one is marked):",
    "",
    "| choice | median ms | p90 ms | mask PNG size |",
    "|---|---|---|---|",
    ...choices.map(row),
    "",
  ];
}
