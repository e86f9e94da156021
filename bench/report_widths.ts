/**
 * Renders `bench/kernel_widths.ts` for RESULTS.md: the direct kernels at each vector width.
 *
 * @module
 */
import type { KernelWidths } from "./kernel_widths.ts";
import type { BenchResults } from "./results.ts";

const SCRIPT = "bench/kernel_widths.ts";

/** The kernel-width section (empty when the script did not run). */
export function renderKernelWidths(r: BenchResults): string[] {
  const run = r.scripts?.find((s) => s.script === SCRIPT);
  const k = run?.json?.at(-1) as KernelWidths | undefined;
  if (!k?.rows?.length) return [];
  const native = k.rows.find((x) => x.id === "native")?.median_ms;
  const sse = k.rows.find((x) => x.id === "native-sse2")?.median_ms;
  const wasm = k.rows.find((x) => x.id === "wasm")?.median_ms;
  const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : "–");
  return [
    `### The direct kernels at each vector width (${k.model}, ${k.size}², one thread, alternating rounds)`,
    "",
    `| build | median ms | p90 ms | runs | against this CPU's native |`,
    `|---|---|---|---|---|`,
    ...k.rows.map((x) =>
      `| ${x.label} | ${x.median_ms} | ${x.p90_ms} | ${x.n} | ${ratio(x.median_ms, native)} |`
    ),
    "",
    `WebAssembly against native at the same width (SSE2, 4 floats): ${
      ratio(wasm, sse)
    }; against this CPU's widest: ${
      ratio(wasm, native)
    }. WebAssembly has 128-bit vectors only, so against AVX-512 it starts 4× behind at equal efficiency.`,
    "",
  ];
}
