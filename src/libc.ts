/**
 * glibc through FFI, opened once for the process: the calls the server makes that Deno has no
 * API for — the allocator's knobs (`memory/malloc.ts`), the open-files limit
 * (`server/fd_limit.ts`) and a directory listing of /proc/self/fd, which Deno's own file API
 * allows only with `--allow-all` (`server/process_metrics.ts`). Null, with the reason, off
 * Linux, without glibc, or without FFI permission already granted (it never prompts).
 *
 * @module
 */

const SYMBOLS = {
  mallopt: { parameters: ["i32", "i32"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
  // glibc ≥ 2.33; ten size_t fields: the 5th is hblkhd (mapped), the 9th fordblks (free)
  mallinfo2: { parameters: [], result: { struct: Array(10).fill("usize") }, optional: true },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened library, or why there is none. */
export type Libc =
  | { lib: Deno.DynamicLibrary<typeof SYMBOLS>; reason?: undefined }
  | { lib: null; reason: string };

let opened: Libc | undefined;

/** glibc's symbols, opened on first use. */
export function libc(): Libc {
  return opened ??= open();
}

function open(): Libc {
  if (Deno.build.os !== "linux") return { lib: null, reason: `not Linux (${Deno.build.os})` };
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return { lib: null, reason: "no --allow-ffi" };
    }
    return { lib: Deno.dlopen("libc.so.6", SYMBOLS) };
  } catch (err) {
    return { lib: null, reason: `glibc not reachable: ${(err as Error).message}` };
  }
}
