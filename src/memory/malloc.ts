/**
 * The C allocator's two knobs that decide how much freed memory a long-running server keeps,
 * reached through `Deno.dlopen` of glibc (Linux): `mallopt(M_MMAP_THRESHOLD)` and
 * `malloc_trim(0)`, and `mallinfo2()` to see how much freed memory the arenas hold.
 *
 * Why by hand: no library exposes them to Deno, and they matter here. Deno, V8's array
 * buffers and onnxruntime all allocate with glibc's malloc, from one arena per thread (the
 * HTTP thread, each engine host and codec Worker). glibc returns freed heap memory to the
 * system only from the top of an arena, and raises its mmap threshold to the largest block
 * freed so far (up to 32 MiB), so after one 30 MB tensor every later buffer of that size is
 * carved from a heap that then never shrinks. Measured with the four shipped models: RSS
 * 520 MiB after 8 s of c=8 load, 417 MiB once V8 had collected its garbage, 262 MiB after
 * one `malloc_trim(0)` (11 ms) — the idle figure again.
 *
 * A fixed mmap threshold stops the ratchet (blocks above it are mapped and unmapped on
 * their own); `malloc_trim(0)` hands the free pages inside every arena back
 * (`madvise(MADV_DONTNEED)`). Where glibc or FFI is not available (musl, macOS, Windows,
 * no `--allow-ffi`: see `libc.ts`) both are no-ops and {@link mallocControl} says why.
 *
 * @module
 */
import { libc } from "../libc.ts";

/** glibc's `mallopt` parameter number of M_MMAP_THRESHOLD. */
const M_MMAP_THRESHOLD = -3;

/** The allocator calls, or why there are none. */
export interface MallocControl {
  available: boolean;
  /** why not available */
  reason?: string;
  /** fixes the mmap threshold (bytes); false when refused */
  setMmapThreshold(bytes: number): boolean;
  /** releases free heap pages of every arena to the system; ms spent, or null */
  trim(): number | null;
  /** bytes the allocator holds free in its arenas (`mallinfo2().fordblks`), or null */
  freeBytes(): number | null;
  /** bytes in blocks mapped on their own (`mallinfo2().hblkhd`), or null */
  mappedBytes(): number | null;
}

let cached: MallocControl | undefined;

const NONE = (reason: string): MallocControl => ({
  available: false,
  reason,
  setMmapThreshold: () => false,
  trim: () => null,
  freeBytes: () => null,
  mappedBytes: () => null,
});

/** The process's allocator control (glibc through FFI, `libc.ts`), made once. */
export function mallocControl(): MallocControl {
  if (cached) return cached;
  const { lib, reason } = libc();
  if (!lib) return cached = NONE(reason);
  const { mallopt, malloc_trim, mallinfo2 } = lib.symbols;
  if (!mallinfo2) return cached = NONE("glibc older than 2.33 (no mallinfo2)");
  /** One field of `struct mallinfo2` (ten size_t). */
  const mallinfo = (field: number) => {
    const info = mallinfo2();
    return Number(new BigUint64Array(info.buffer, info.byteOffset, 10)[field]);
  };
  return cached = {
    available: true,
    setMmapThreshold: (bytes) => mallopt(M_MMAP_THRESHOLD, Math.round(bytes)) === 1,
    trim() {
      const t0 = performance.now();
      malloc_trim(0n);
      return performance.now() - t0;
    },
    freeBytes: () => mallinfo(8),
    mappedBytes: () => mallinfo(4),
  };
}
