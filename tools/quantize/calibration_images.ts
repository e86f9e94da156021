/**
 * The calibration image folder: regular files in it (not recursive, hidden files ignored)
 * that decode as images the server accepts; undecodable files are skipped with a warning.
 * At most `maxImages` are used, spread evenly over the sorted names, and their SHA-256
 * (names and bytes) is recorded so a card says exactly what it was calibrated on.
 *
 * @module
 */
import { basename, join } from "node:path";
import type { Tensor } from "../../src/engines/engine.ts";
import { decodeImage } from "../../src/imaging/decode.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/imaging/image.ts";
import { preprocess } from "../../src/imaging/preprocess.ts";
import type { InputSpec } from "../../src/models/card.ts";
import { sha256Hex } from "../../src/models/hash.ts";

/** The usable images of a calibration folder. */
export interface CalibrationSet {
  folder: string;
  /** absolute paths of the images used, sorted */
  files: string[];
  /** files that could not be decoded, with the reason */
  skipped: { file: string; reason: string }[];
  /** SHA-256 over the used images' names and bytes */
  sha256: string;
}

/** Thrown when the calibration folder cannot be used. */
export class CalibrationDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CalibrationDataError";
  }
}

/** Picks `n` items spread evenly over `items` (all of them when n ≥ length). */
export function evenlySpaced<T>(items: readonly T[], n: number): T[] {
  if (n >= items.length) return [...items];
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]);
}

async function decodeFile(path: string) {
  return await decodeImage(await Deno.readFile(path), undefined, DEFAULT_DECODE_LIMITS);
}

/**
 * Lists and checks the calibration images.
 * @param folder a folder of PNG/JPEG images
 * @param maxImages use at most this many (evenly spread)
 * @param warn called once per skipped file
 * @throws {CalibrationDataError} when the folder is missing or holds no usable image
 */
export async function scanCalibrationFolder(
  folder: string,
  maxImages: number,
  warn: (message: string) => void = () => {},
): Promise<CalibrationSet> {
  let names: string[];
  try {
    names = [];
    for await (const e of Deno.readDir(folder)) {
      if (e.isFile && !e.name.startsWith(".")) names.push(e.name);
    }
  } catch (err) {
    throw new CalibrationDataError(
      `cannot read calibration folder ${folder}: ${(err as Error).message}`,
    );
  }
  names.sort();
  // Visit an even spread of the folder first; undecodable picks are replaced by the files
  // after them, so a large folder is not decoded in full.
  const first = evenlySpaced(names, maxImages);
  const chosen = new Set(first);
  const order = [...first, ...names.filter((n) => !chosen.has(n))];
  const usable: string[] = [];
  const skipped: CalibrationSet["skipped"] = [];
  for (const name of order) {
    if (usable.length >= maxImages) break;
    const path = join(folder, name);
    try {
      await decodeFile(path);
      usable.push(name);
    } catch (err) {
      const reason = (err as Error).message;
      skipped.push({ file: name, reason });
      warn(`skipping ${path}: ${reason}`);
    }
  }
  if (usable.length === 0) {
    const what = names.length === 0
      ? "no files"
      : `${names.length} files, none of them a decodable PNG or JPEG`;
    throw new CalibrationDataError(`calibration folder ${folder} holds ${what}`);
  }
  const files = usable.sort().map((n) => join(folder, n));
  const hashes: string[] = [];
  for (const f of files) hashes.push(`${basename(f)} ${await sha256Hex(await Deno.readFile(f))}`);
  const sha256 = await sha256Hex(new TextEncoder().encode(hashes.join("\n")));
  return { folder, files, skipped, sha256 };
}

/** Decodes and preprocesses each calibration image exactly as the server does. */
export async function* calibrationInputs(
  set: CalibrationSet,
  spec: InputSpec,
): AsyncGenerator<{ file: string; tensor: Tensor }> {
  for (const file of set.files) {
    const { tensor } = preprocess(await decodeFile(file), spec);
    yield { file, tensor };
  }
}
