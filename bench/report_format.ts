/**
 * Number and table formatting shared by the RESULTS.md renderers.
 *
 * @module
 */
import { round } from "./stats.ts";

const nf = new Intl.NumberFormat("en-US");

/** Milliseconds with 3 significant figures (at least 0 decimals). */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** A count with thousands separators. */
export function num(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : nf.format(v);
}

/** FLOPs in G or M. */
export function g(flops: number): string {
  return flops >= 1e9 ? `${round(flops / 1e9, 2)} G` : `${round(flops / 1e6, 1)} M`;
}

/** Bytes in MiB or KiB. */
export function mib(bytes: number): string {
  return bytes >= 2 ** 20 ? `${round(bytes / 2 ** 20, 1)} MiB` : `${round(bytes / 1024, 1)} KiB`;
}

/** A Markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
