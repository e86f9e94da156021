/**
 * Hot reload from the file system: watches the model repository and, once changes settle,
 * asks the registry to rescan ({@link ModelRegistry.sync}). New versions are loaded and
 * warmed beside the serving ones and swapped in; a version that fails to load leaves
 * what served before serving, and the failure shows in the repository index.
 *
 * Two modes: `fs` (`Deno.watchFs`, debounced) and `poll` (a rescan every interval; for
 * network file systems and volumes where file events do not arrive). A rescan only stats
 * files, so polling is cheap.
 *
 * Drop a version in atomically where you can: copy it to a hidden folder (`.incoming`)
 * and rename it into place. A half-copied version fails to load and is retried as soon as
 * its files change again.
 *
 * @example
 * ```ts
 * const watcher = watchRepository(registry, { mode: "fs", onSync: (r) => console.log(r) });
 * // … later
 * await watcher.close();
 * ```
 * @module
 */
import type { ModelRegistry, SyncResult } from "./registry.ts";

/** Options of {@link watchRepository}. */
export interface WatchOptions {
  mode: "fs" | "poll";
  /** poll: time between rescans (default 2000 ms) */
  intervalMs?: number;
  /** fs: quiet time after the last event before rescanning (default 500 ms) */
  debounceMs?: number;
  /** told what each rescan that changed something did */
  onSync?: (results: SyncResult[]) => void;
  /** told when a rescan itself failed (repository unreadable) */
  onError?: (err: Error) => void;
}

/** A running watcher. */
export interface RepositoryWatcher {
  /** Stops watching and waits for a rescan in progress. */
  close(): Promise<void>;
  /** Resolves after the next rescan finishes (tests). */
  nextSync(): Promise<SyncResult[]>;
}

/** Starts watching `registry.root`. */
export function watchRepository(registry: ModelRegistry, options: WatchOptions): RepositoryWatcher {
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  let waiters: ((r: SyncResult[]) => void)[] = [];

  const rescan = () => {
    running = running.then(async () => {
      if (closed) return;
      try {
        const results = await registry.sync();
        if (results.some((r) => r.action !== "unchanged")) options.onSync?.(results);
        const done = waiters;
        waiters = [];
        for (const w of done) w(results);
      } catch (err) {
        options.onError?.(err as Error);
      }
    });
  };

  let fsWatcher: Deno.FsWatcher | undefined;
  if (options.mode === "fs") {
    const debounce = options.debounceMs ?? 500;
    fsWatcher = Deno.watchFs(registry.root, { recursive: true });
    (async () => {
      try {
        for await (const event of fsWatcher!) {
          if (event.kind === "access") continue;
          clearTimeout(timer);
          timer = setTimeout(rescan, debounce);
        }
      } catch (err) {
        if (!closed) options.onError?.(err as Error);
      }
    })();
  } else {
    const interval = options.intervalMs ?? 2000;
    const tick = () => {
      rescan();
      running.then(() => {
        if (!closed) timer = setTimeout(tick, interval);
      });
    };
    timer = setTimeout(tick, interval);
  }

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      fsWatcher?.close();
      await running;
    },
    nextSync() {
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}
