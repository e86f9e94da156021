/**
 * Test images made in code (PNG of every colour type and depth, baseline JPEG) and the
 * committed real samples.
 *
 * @module
 */
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";

/** Bytes usable as a fetch body. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** A real ISIC 2017 dermoscopy image (256×192 RGB), see tests/fixtures/images/ATTRIBUTION.md. */
export const ISIC_SAMPLE = new URL("../fixtures/images/isic_ISIC_0000011.png", import.meta.url);
/** A real HC18 ultrasound image (256×173 grey). */
export const HC18_SAMPLE = new URL("../fixtures/images/hc18_001_HC.png", import.meta.url);

/** A smooth gradient with a bright disc, `channels` interleaved 8-bit samples. */
export function syntheticPixels(
  width: number,
  height: number,
  channels: number,
  max = 255,
): number[] {
  const out: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inDisc =
        (x - width / 2) ** 2 + (y - height / 2) ** 2 < (Math.min(width, height) / 4) ** 2;
      for (let c = 0; c < channels; c++) {
        const v = inDisc ? 0.9 : ((x / width) * 0.5 + (c * 0.1)) % 1;
        out.push(Math.round(v * max));
      }
    }
  }
  return out;
}

/** Encodes a PNG with fast-png. */
export function makePng(
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  depth: 8 | 16 = 8,
): Bytes {
  const max = depth === 16 ? 65535 : 255;
  const px = syntheticPixels(width, height, channels, max);
  const data = depth === 16 ? Uint16Array.from(px) : Uint8Array.from(px);
  return encodePng({ width, height, data, channels, depth }) as Bytes;
}

/** Encodes a palette PNG (8-bit indices into a 4-colour palette). */
export function makePalettePng(width: number, height: number): Bytes {
  const palette: [number, number, number][] = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]];
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = i % 4;
  return encodePng({ width, height, data, channels: 1, depth: 8, palette }) as Bytes;
}

/** Encodes a baseline RGB JPEG with jpeg-js. */
export function makeJpeg(width: number, height: number, quality = 90): Bytes {
  const rgba = new Uint8Array(width * height * 4);
  const px = syntheticPixels(width, height, 3);
  for (let i = 0; i < width * height; i++) {
    rgba.set(px.slice(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ width, height, data: rgba }, quality).data);
}

/** The bytes of a committed sample. */
export function readSample(url: URL): Promise<Bytes> {
  return Deno.readFile(url);
}
