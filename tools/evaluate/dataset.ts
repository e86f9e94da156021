/**
 * A prepared data set split on disk: `<set>/<split>/images/<id>.<png|jpg>` paired by id
 * with `<set>/<split>/masks/<id>.png` (single-channel 0/255 or 0/1), the layout
 * `tools/distill/data.py` reads. Errors name the folder or file and what is wrong.
 *
 * @module
 */
import { extname, join } from "node:path";
import { decodeImage } from "../../src/imaging/decode.ts";

/** The splits a data set has. */
export const SPLITS = ["train", "val", "test"] as const;

/** One image with its ground-truth mask file. */
export interface Pair {
  id: string;
  image: string;
  mask: string;
}

/** A ground-truth mask: 1 = foreground. */
export interface Mask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Thrown for a missing split, unpaired files, or a mask that is not binary. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataError";
  }
}

const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg"]);

async function listById(folder: string, exts: Set<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  try {
    for await (const e of Deno.readDir(folder)) {
      const ext = extname(e.name).toLowerCase();
      if (!e.isFile || e.name.startsWith(".") || !exts.has(ext)) continue;
      const id = e.name.slice(0, -ext.length);
      if (out.has(id)) throw new DataError(`two files with id ${id} in ${folder}`);
      out.set(id, join(folder, e.name));
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`missing split folder ${folder}: ${(err as Error).message}`);
  }
  return out;
}

/**
 * Lists the pairs of one split, sorted by id.
 * @throws {DataError} for an unknown split, a missing folder, unpaired files, or no pairs
 */
export async function listPairs(setDir: string, split: string): Promise<Pair[]> {
  if (!(SPLITS as readonly string[]).includes(split)) {
    throw new DataError(`unknown split "${split}"; expected ${SPLITS.join(", ")}`);
  }
  const images = await listById(join(setDir, split, "images"), IMAGE_EXT);
  const masks = await listById(join(setDir, split, "masks"), new Set([".png"]));
  const onlyImage = [...images.keys()].filter((k) => !masks.has(k)).sort();
  const onlyMask = [...masks.keys()].filter((k) => !images.has(k)).sort();
  if (onlyImage.length || onlyMask.length) {
    throw new DataError(
      `unpaired files in ${join(setDir, split)}: images without mask [${
        onlyImage.slice(0, 10).join(", ")
      }], ` +
        `masks without image [${onlyMask.slice(0, 10).join(", ")}]`,
    );
  }
  if (images.size === 0) {
    throw new DataError(`split ${join(setDir, split)} holds no image/mask pairs`);
  }
  return [...images.keys()].sort().map((id) => ({
    id,
    image: images.get(id)!,
    mask: masks.get(id)!,
  }));
}

/**
 * Reads a binary mask (0/255 or 0/1; a colour mask must have equal channels).
 * @throws {DataError} for an unreadable or non-binary mask
 */
export async function readMask(path: string): Promise<Mask> {
  let img;
  try {
    img = await decodeImage(await Deno.readFile(path), undefined, { maxPixels: 1 << 28 });
  } catch (err) {
    throw new DataError(`cannot read mask ${path}: ${(err as Error).message}`);
  }
  const n = img.width * img.height;
  const data = new Uint8Array(n);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const v = img.data[i * img.channels];
    if (img.channels === 3 && (img.data[3 * i + 1] !== v || img.data[3 * i + 2] !== v)) {
      throw new DataError(
        `mask ${path} has colour channels that differ; expected single-channel 0/255`,
      );
    }
    seen.add(v);
    data[i] = v > 0 ? 1 : 0;
  }
  const values = [...seen].sort((a, b) => a - b);
  const binary = values.every((v) => v === 0 || v === img.maxValue) ||
    values.every((v) => v === 0 || v === 1);
  if (!binary) {
    throw new DataError(
      `mask ${path} is not binary: values ${values.slice(0, 8).join(", ")}${
        values.length > 8 ? "…" : ""
      } (expected only 0 and ${img.maxValue})`,
    );
  }
  return { width: img.width, height: img.height, data };
}
