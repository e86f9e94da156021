/**
 * Models for an edge function, fetched from URLs at cold start: each URL names a version
 * folder (`https://models.example/lesion/3/`) holding `model.json` and the ONNX files its
 * card names. They are written to a temporary repository folder the server then loads
 * like any other (cards validated, models checked against them, warmed).
 *
 * Guards: names and file names must be plain (no `/`, no `..`), every file has a size
 * cap, every fetch a timeout. ONNX external-data files are not fetched: ship edge models
 * self-contained (one `.onnx` per precision).
 *
 * @example
 * ```ts
 * const root = await Deno.makeTempDir();
 * await fetchModels(["https://models.example/lesion/3/"], root);
 * ```
 * @module
 */
import { join } from "node:path";
import { SAFE_NAME } from "../../src/models/repository_scan.ts";

/** Options of {@link fetchModels}. */
export interface FetchModelsOptions {
  /** largest file accepted (default 64 MiB) */
  maxBytes?: number;
  /** per-request time limit (default 30 s) */
  timeoutMs?: number;
}

async function download(url: URL, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GET ${url} answered ${res.status}`);
  }
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new Error(`${url} is ${declared} bytes; the limit is ${maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? new ReadableStream<Uint8Array>()) {
    size += chunk.length;
    if (size > maxBytes) throw new Error(`${url} exceeds the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) (out.set(c, o), (o += c.length));
  return out;
}

function plainFile(name: unknown, what: string): string {
  if (typeof name !== "string" || !/^[\w][\w.-]*$/.test(name) || name.includes("..")) {
    throw new Error(`${what} ${JSON.stringify(name)} is not a plain file name`);
  }
  return name;
}

/**
 * Downloads each version folder into `root/<name>/<version>/`.
 * @throws {Error} naming the URL for an unreachable, oversized or unsafe model
 */
export async function fetchModels(
  urls: string[],
  root: string,
  options: FetchModelsOptions = {},
): Promise<void> {
  const maxBytes = options.maxBytes ?? 64 * 2 ** 20;
  const timeoutMs = options.timeoutMs ?? 30_000;
  for (const raw of urls) {
    const base = new URL(raw.endsWith("/") ? raw : `${raw}/`);
    if (base.protocol !== "https:" && base.protocol !== "http:") {
      throw new Error(`${raw}: only http(s) model URLs`);
    }
    const cardBytes = await download(new URL("model.json", base), 1 * 2 ** 20, timeoutMs);
    let card: Record<string, unknown>;
    try {
      card = JSON.parse(new TextDecoder().decode(cardBytes));
    } catch (err) {
      throw new Error(`${base}model.json is not JSON: ${(err as Error).message}`);
    }
    const name = String(card?.name ?? ""), version = String(card?.version ?? "");
    if (!SAFE_NAME.test(name) || !SAFE_NAME.test(version)) {
      throw new Error(
        `${base}model.json must name the model and version (letters, digits, . _ -); got "${name}"/"${version}"`,
      );
    }
    const files = (card.files ?? { fp32: "model.onnx" }) as Record<string, unknown>;
    const names = [
      plainFile(files.fp32 ?? "model.onnx", "files.fp32"),
      ...(files.int8 ? [plainFile(files.int8, "files.int8")] : []),
    ];
    const dir = join(root, name, version);
    await Deno.mkdir(dir, { recursive: true });
    for (const file of names) {
      await Deno.writeFile(
        join(dir, file),
        await download(new URL(file, base), maxBytes, timeoutMs),
      );
    }
    await Deno.writeFile(join(dir, "model.json"), cardBytes);
  }
}
