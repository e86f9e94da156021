/**
 * The server's allocator setting in a bench process that runs engines itself (the latency,
 * peak and quant parts), so their runs meet glibc as the server's do: the server fixes the
 * mmap threshold once ready (`TINYUNET_MMAP_THRESHOLD_KB`, src/memory/keeper.ts). Without it
 * a fresh process maps and unmaps every output buffer above 128 KiB on its own until a
 * collection frees one and glibc raises its threshold: a one-node Relu graph on 1×3×256² ran
 * 2.35 ms a run (median of its first 200) against 0.1 ms after (probe, 2026-12-02), and the
 * bench's floor read 4.54 ms where it had read 0.60.
 *
 * @module
 */
import { loadConfig } from "../src/config.ts";
import { mallocControl } from "../src/memory/malloc.ts";

/** Fixes the mmap threshold at the server's default; what was done, for the report. */
export function useServerAllocator(): string {
  const bytes = loadConfig({}).mmapThresholdBytes;
  const control = mallocControl();
  if (!control.available) return `allocator as is (${control.reason})`;
  if (bytes <= 0) return "allocator as is (the server keeps glibc's sliding threshold)";
  return control.setMmapThreshold(bytes)
    ? `glibc mmap threshold ${bytes / 1024} KiB, as the server sets it`
    : "allocator as is (mallopt refused the threshold)";
}
