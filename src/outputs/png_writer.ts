/**
 * An 8-bit PNG writer for the server's own outputs (the mask, greyscale; the overlay, RGB):
 * scanlines unfiltered (or Up), deflated by the runtime's native zlib (`node:zlib`, level 1
 * by default) with its CRC-32. Written here rather than with fast-png's encoder (pure-JS
 * deflate at its default level, a module of its own to load in every isolate) because these
 * are the cheapest PNGs there are to write; bench/codec_choices.ts measures the choices side
 * by side (256×192 mask: fast-png 0.73 ms / 1.3 kB; filter None + level 1 0.12 ms / 2.9 kB;
 * filter Up + level 1 0.15 ms / 4.0 kB; stored 0.20 ms / 49 kB). The output is a plain, valid
 * 8-bit PNG any decoder reads.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { constants, crc32, deflateSync } from "node:zlib";

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Encoder choices (the defaults are the measured best for masks). */
export interface PngOptions {
  /** PNG row filter: 0 None (default), 2 Up */
  filter?: 0 | 2;
  /** zlib level 0 (stored) … 9 */
  level?: number;
}

/** An 8-bit image: `channels` samples per pixel, rows top to bottom, no padding. */
export interface Image8 {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

function chunk(out: Uint8Array, at: number, type: string, data: Uint8Array): number {
  const view = new DataView(out.buffer, out.byteOffset);
  view.setUint32(at, data.length);
  for (let i = 0; i < 4; i++) out[at + 4 + i] = type.charCodeAt(i);
  out.set(data, at + 8);
  view.setUint32(at + 8 + data.length, crc32(out.subarray(at + 4, at + 8 + data.length)));
  return at + 12 + data.length;
}

/** The filtered scanlines of `image` (filter byte first on each row). */
function scanlines(image: Image8, filter: 0 | 2): Uint8Array {
  const row = image.width * image.channels;
  const raw = new Uint8Array((row + 1) * image.height);
  for (let y = 0; y < image.height; y++) {
    const o = y * (row + 1), m = y * row;
    const line = image.data.subarray(m, m + row);
    if (filter === 2 && y > 0) {
      raw[o] = 2;
      // Up: the byte minus the byte above, mod 256
      for (let x = 0; x < row; x++) raw[o + 1 + x] = (line[x] - image.data[m - row + x]) & 255;
    } else raw.set(line, o + 1);
  }
  return raw;
}

/** Encodes an 8-bit greyscale or RGB image as PNG. */
export function encodePng8(image: Image8, options: PngOptions = {}): Uint8Array {
  const raw = scanlines(image, options.filter ?? 0);
  const idat = deflateSync(raw, {
    level: options.level ?? 1,
    strategy: constants.Z_DEFAULT_STRATEGY,
  }) as Buffer;
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, image.width);
  v.setUint32(4, image.height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = image.channels === 3 ? 2 : 0; // truecolour or greyscale; the rest stay 0
  const out = new Uint8Array(8 + 25 + 12 + idat.length + 12);
  out.set(SIGNATURE, 0);
  let at = chunk(out, 8, "IHDR", ihdr);
  at = chunk(out, at, "IDAT", new Uint8Array(idat.buffer, idat.byteOffset, idat.length));
  chunk(out, at, "IEND", new Uint8Array(0));
  return out;
}
