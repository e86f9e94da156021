/**
 * The node's on-disk SEG store and outbox (`TINYUNET_OUTBOX`), safe across restarts:
 *
 * - `segs/<key>.dcm`: every SEG made, the newest `TINYUNET_SEG_RETENTION` kept (WADO-RS);
 * - `queue/<destination>/<key>.dcm`: a hard link per destination until it acknowledges
 *   (oldest first; past `TINYUNET_OUTBOX_MAX` the oldest is dropped and counted);
 * - `failed/<destination>/<key>.dcm`: SEGs a destination refused for good (same bound);
 * - `tmp/`: files being written (written, synced, then linked/renamed: a crash never
 *   leaves a half file under a real name). The folders that gained a name are synced too
 *   before {@link SegStore.put} returns, so a SEG acknowledged upstream survives a power
 *   loss, not only a crash of the process.
 *
 * Delivery is at least once: a crash between a destination's acknowledgement and the
 * removal of the queue entry sends that SEG again after the restart (same SOP Instance
 * UID, which a PACS stores once).
 *
 * A key is `<received ms>-<counter>~<SEG SOP Instance UID>~<source SOP Instance UID>`:
 * names sort by age, and a restart rebuilds every list from the folder names alone.
 *
 * @module
 */
import { join } from "node:path";

/** A stored SEG's key, split. */
export interface SegKey {
  key: string;
  receivedMs: number;
  segUid: string;
  sourceUid: string;
}

const UID = /^[0-9.]{1,64}$/;

/** Parses a file name (without `.dcm`) into its key parts, or undefined for a stray file. */
export function parseKey(key: string): SegKey | undefined {
  const m = /^(\d{15})-(\d{6})~([0-9.]+)~([0-9.]+)$/.exec(key);
  if (!m || !UID.test(m[3]) || !UID.test(m[4])) return undefined;
  return { key, receivedMs: Number(m[1]), segUid: m[3], sourceUid: m[4] };
}

/** Called when the outbox drops a SEG to stay within its bound. */
export type DropListener = (destination: string, key: SegKey) => void;

async function listKeys(dir: string): Promise<SegKey[]> {
  const out: SegKey[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".dcm")) continue;
    const k = parseKey(e.name.slice(0, -4));
    if (k) out.push(k);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Makes a folder's entries (new names, renames, removals) durable (POSIX: fsync of the folder). */
async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return; // folders cannot be opened there; NTFS journals names
  const f = await Deno.open(dir, { read: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

/** Writes a file under `path` and syncs its data. */
async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.syncData();
  } finally {
    file.close();
  }
}

/** The SEG store and per-destination queues. */
export class SegStore {
  readonly #segs: SegKey[] = [];
  readonly #byUid = new Map<string, SegKey>();
  readonly #queues = new Map<string, SegKey[]>();
  readonly #failed = new Map<string, SegKey[]>();
  #counter = 0;
  #opened?: Promise<void>;

  /**
   * @param destinations names of the destinations SEGs are queued for
   * @param outboxMax SEGs waiting per destination before the oldest is dropped
   * @param retention SEGs kept for retrieval
   */
  constructor(
    readonly dir: string,
    readonly destinations: string[],
    readonly outboxMax: number,
    readonly retention: number,
    readonly onDrop: DropListener = () => {},
  ) {}

  /** Creates the folders and reads what a previous run left (once). */
  open(): Promise<void> {
    this.#opened ??= this.#open();
    return this.#opened;
  }

  async #open() {
    await Deno.mkdir(join(this.dir, "tmp"), { recursive: true });
    await Deno.mkdir(join(this.dir, "segs"), { recursive: true });
    for (const e of await Array.fromAsync(Deno.readDir(join(this.dir, "tmp")))) {
      await Deno.remove(join(this.dir, "tmp", e.name)).catch(() => {});
    }
    for (const k of await listKeys(join(this.dir, "segs"))) this.#remember(k);
    for (const d of this.destinations) {
      await Deno.mkdir(join(this.dir, "queue", d), { recursive: true });
      await Deno.mkdir(join(this.dir, "failed", d), { recursive: true });
      this.#queues.set(d, await listKeys(join(this.dir, "queue", d)));
      this.#failed.set(d, await listKeys(join(this.dir, "failed", d)));
    }
  }

  #remember(k: SegKey) {
    this.#segs.push(k);
    this.#byUid.set(k.segUid, k);
  }

  #path(kind: "segs" | "queue" | "failed", k: SegKey, destination?: string): string {
    return destination
      ? join(this.dir, kind, destination, `${k.key}.dcm`)
      : join(this.dir, kind, `${k.key}.dcm`);
  }

  /**
   * Stores a SEG durably and queues it for every destination.
   * @returns its key
   */
  async put(
    bytes: Uint8Array,
    segUid: string,
    sourceUid: string,
    receivedMs: number,
  ): Promise<SegKey> {
    await this.open();
    this.#counter = (this.#counter + 1) % 1_000_000;
    const k = parseKey(
      `${String(Math.floor(receivedMs)).padStart(15, "0")}-${
        String(this.#counter).padStart(6, "0")
      }~${segUid}~${sourceUid}`,
    );
    if (!k) throw new Error(`not a storable UID pair: ${segUid} / ${sourceUid}`);
    const tmp = join(this.dir, "tmp", `${k.key}.dcm`);
    await writeSynced(tmp, bytes);
    const touched: string[] = [];
    for (const d of this.destinations) {
      const target = this.#path("queue", k, d);
      try {
        await Deno.link(tmp, target);
      } catch {
        await writeSynced(target, bytes); // a file system without hard links
      }
      touched.push(join(this.dir, "queue", d));
      const queue = this.#queues.get(d)!;
      queue.push(k);
      while (queue.length > this.outboxMax) {
        const dropped = queue.shift()!;
        await Deno.remove(this.#path("queue", dropped, d)).catch(() => {});
        this.onDrop(d, dropped);
      }
    }
    if (this.retention > 0) {
      await Deno.rename(tmp, this.#path("segs", k));
      touched.push(join(this.dir, "segs"));
      this.#remember(k);
      while (this.#segs.length > this.retention) {
        const old = this.#segs.shift()!;
        this.#byUid.delete(old.segUid);
        await Deno.remove(this.#path("segs", old)).catch(() => {});
      }
    } else {
      await Deno.remove(tmp);
    }
    await Promise.all(touched.map(syncDir));
    return k;
  }

  /** SEGs waiting for a destination, oldest first. */
  pending(destination: string): readonly SegKey[] {
    return this.#queues.get(destination) ?? [];
  }

  /** SEGs a destination refused for good. */
  failed(destination: string): readonly SegKey[] {
    return this.#failed.get(destination) ?? [];
  }

  /** Reads a queued SEG. */
  read(destination: string, k: SegKey): Promise<Uint8Array> {
    return Deno.readFile(this.#path("queue", k, destination));
  }

  #unqueue(destination: string, k: SegKey) {
    const q = this.#queues.get(destination);
    const i = q?.findIndex((x) => x.key === k.key) ?? -1;
    if (q && i >= 0) q.splice(i, 1);
  }

  /** The destination acknowledged the SEG. */
  async delivered(destination: string, k: SegKey): Promise<void> {
    this.#unqueue(destination, k);
    await Deno.remove(this.#path("queue", k, destination)).catch(() => {});
  }

  /** The destination refused the SEG for good: kept under `failed/`. */
  async rejected(destination: string, k: SegKey): Promise<void> {
    // moved in the listings at once, so no reader sees it in neither (the rename is atomic)
    this.#unqueue(destination, k);
    const failed = this.#failed.get(destination)!;
    failed.push(k);
    await Deno.rename(this.#path("queue", k, destination), this.#path("failed", k, destination))
      .catch(() => {});
    while (failed.length > this.outboxMax) {
      await Deno.remove(this.#path("failed", failed.shift()!, destination)).catch(() => {});
    }
  }

  /** A retained SEG by its SOP Instance UID. */
  async find(segUid: string): Promise<Uint8Array | undefined> {
    await this.open();
    const k = this.#byUid.get(segUid);
    if (!k) return undefined;
    try {
      return await Deno.readFile(this.#path("segs", k));
    } catch {
      return undefined;
    }
  }
}
