/**
 * The per-image CSV of an evaluation (`id,dice,iou,hd95,precision,recall`, six decimals,
 * like `tools/distill/evaluate.py` writes).
 *
 * @module
 */
import { METRIC_NAMES } from "../../lib/metrics/image_metrics.ts";
import type { ImageRow } from "./evaluate.ts";

function field(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** CSV text with a header row. */
export function rowsToCsv(rows: readonly ImageRow[]): string {
  const lines = [["id", ...METRIC_NAMES].join(",")];
  for (const r of rows) {
    lines.push([field(r.id), ...METRIC_NAMES.map((k) => r[k].toFixed(6))].join(","));
  }
  return lines.join("\n") + "\n";
}
