/**
 * The input normalisations an imported model may expect — the card's `mean`/`std`, applied
 * to pixel/255 as `(x - mean) / std` — as named presets, and the data's own statistics.
 *
 * @module
 */
import { decodeImage } from "../../src/imaging/decode.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/imaging/image.ts";
import { toPlanes } from "../../src/imaging/preprocess.ts";

/** Preset names, in the order they are tried and printed. */
export const PRESET_NAMES = ["imagenet", "unit", "symmetric", "data"] as const;
/** A preset name. */
export type PresetName = typeof PRESET_NAMES[number];

/** A normalisation: per-channel mean and std on pixel/255. */
export interface Normalisation {
  name: string;
  /** what it means, for the printed table */
  description: string;
  mean: number[];
  std: number[];
}

/** ImageNet statistics (torchvision); for one channel, their average. */
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

/**
 * A fixed preset for a channel count (`data` needs {@link dataStatistics}).
 * @throws {Error} for `data`
 */
export function fixedPreset(name: Exclude<PresetName, "data">, channels: 1 | 3): Normalisation {
  const fill = (v: number) => Array<number>(channels).fill(v);
  switch (name) {
    case "imagenet":
      return {
        name,
        description: "ImageNet mean/std",
        mean: channels === 3 ? IMAGENET.mean : [round4(avg(IMAGENET.mean))],
        std: channels === 3 ? IMAGENET.std : [round4(avg(IMAGENET.std))],
      };
    case "unit":
      return { name, description: "[0, 1]", mean: fill(0), std: fill(1) };
    case "symmetric":
      return { name, description: "[-1, 1]", mean: fill(0.5), std: fill(0.5) };
  }
}

function avg(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * The data's own per-channel mean and std (pixels scaled to [0, 1], after the server's grey/RGB
 * conversion), over the given images.
 * @throws {Error} for an unreadable image
 */
export async function dataStatistics(
  images: readonly string[],
  channels: 1 | 3,
): Promise<Normalisation> {
  const sum = new Float64Array(channels), sq = new Float64Array(channels);
  let n = 0;
  for (const path of images) {
    const image = await decodeImage(await Deno.readFile(path), undefined, DEFAULT_DECODE_LIMITS)
      .catch((err) => {
        throw new Error(`cannot read image ${path}: ${(err as Error).message}`);
      });
    const planes = toPlanes(image, channels);
    for (let c = 0; c < channels; c++) {
      for (const x of planes[c]) {
        sum[c] += x;
        sq[c] += x * x;
      }
    }
    n += image.width * image.height;
  }
  const mean = [...sum].map((s) => s / n);
  const std = [...sq].map((s, c) => Math.sqrt(Math.max(s / n - mean[c] ** 2, 1e-6)));
  return {
    name: "data",
    description: `the data's own mean/std (${images.length} images)`,
    mean: mean.map(round4),
    std: std.map(round4),
  };
}
