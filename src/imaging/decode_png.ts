/**
 * Bounded PNG decoding: 1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA and palette images,
 * plain or Adam7-interlaced; alpha is dropped.
 *
 * The budget is fixed before anything is inflated: the IHDR header gives the exact number
 * of filtered bytes the image needs (rows × (1 + row bytes), per Adam7 pass), and the IDAT
 * stream is inflated by node:zlib (native; 3-4× faster than the JS inflaters measured
 * here) with `maxOutputLength` set to that number, so a 1 MB file that inflates to 1 GiB
 * stops after a few kilobytes with 400 `bad_image`. Rows are then unfiltered one at a time
 * and converted in place (8-bit grey/RGB rows are unfiltered where they lie and only moved
 * down over the filter bytes; 16-bit and alpha images shrink row by row into the same
 * buffer through a scratch row), so the peak is the inflated size, never inflated +
 * converted copy (a 4096² RGBA16 PNG: 134 MB, not ~1 GB).
 *
 * Why not fast-png (used before): it inflates without an output cap and converts through
 * full-image transients; no maintained PNG library here does both bounds. Nor a WASM PNG
 * decoder: @jsquash/png (Rust `png` crate) took 1.44 ms for the bench's 256×192 RGB
 * sample against 0.7 ms here (it returns RGBA, and has no output cap of ours). What is
 * written by hand is only the PNG-specific part (chunk walk, the five row filters — Paeth
 * branch-free, see {@link unfilterPaeth} — Adam7 and sample conversion); the inflater is
 * zlib's (fflate, pure JS, took 0.92 ms to node:zlib's 0.26 ms for the same IDAT).
 *
 * @module
 */
import { inflateSync } from "node:zlib";
import { ApiError } from "../errors.ts";
import { checkDecodedBytes, checkPixels, type DecodeBudget } from "./decode_budget.ts";
import type { DecodedImage } from "./image.ts";

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Whether the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Reads width and height from the IHDR chunk. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const h = readHeader(bytes);
  return { width: h.width, height: h.height };
}

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
  /** samples per pixel in the file */
  channels: number;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

function bad(message: string): ApiError {
  return new ApiError("bad_image", `corrupt PNG: ${message}`);
}

function readHeader(bytes: Uint8Array): Header {
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") {
    throw new ApiError("bad_image", "PNG is truncated or has no IHDR header");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16), height = view.getUint32(20);
  const depth = bytes[24], colorType = bytes[25];
  if (!DEPTHS[colorType]?.includes(depth)) {
    throw bad(`bit depth ${depth} with colour type ${colorType}`);
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28] > 1) {
    throw bad("unknown compression, filter or interlace method");
  }
  return {
    width,
    height,
    depth,
    colorType,
    interlaced: bytes[28] === 1,
    channels: CHANNELS[colorType],
  };
}

/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  width: number;
  height: number;
  rowBytes: number;
}

function passes(h: Header): Pass[] {
  const rowBytes = (w: number) => Math.ceil((w * h.channels * h.depth) / 8);
  if (!h.interlaced) {
    return [{
      x0: 0,
      y0: 0,
      dx: 1,
      dy: 1,
      width: h.width,
      height: h.height,
      rowBytes: rowBytes(h.width),
    }];
  }
  return ADAM7.map(([x0, y0, dx, dy]) => {
    const width = Math.max(0, Math.ceil((h.width - x0) / dx));
    const height = Math.max(0, Math.ceil((h.height - y0) / dy));
    return { x0, y0, dx, dy, width, height, rowBytes: rowBytes(width) };
  }).filter((p) => p.width > 0 && p.height > 0);
}

/** Walks the chunks: the concatenated IDAT data and the palette. */
function readChunks(bytes: Uint8Array): { idat: Uint8Array; palette?: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  let total = 0;
  let i = 8;
  let ended = false;
  while (i + 8 <= bytes.length) {
    const length = view.getUint32(i);
    const type = String.fromCharCode(bytes[i + 4], bytes[i + 5], bytes[i + 6], bytes[i + 7]);
    const start = i + 8;
    if (start + length > bytes.length) throw bad(`${type} chunk runs past the end of the file`);
    const data = bytes.subarray(start, start + length);
    if (type === "IDAT") {
      parts.push(data);
      total += length;
    } else if (type === "PLTE") palette = data;
    else if (type === "IEND") {
      ended = true;
      break;
    }
    i = start + length + 4;
  }
  if (parts.length === 0) throw bad(ended ? "no IDAT chunk" : "file is truncated");
  if (parts.length === 1) return { idat: parts[0], palette };
  const idat = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    idat.set(p, o);
    o += p.length;
  }
  return { idat, palette };
}

/**
 * The Paeth filter's reverse for bytes `bpp…n-1` of a row, branch-free. The predictor
 * picks a, b or c (left, above, upper-left) by the smallest of |p−a|, |p−b|, |p−c| with
 * p = a + b − c (ties: a, then b) — on photographs that choice is close to random, so the
 * textbook `pa <= pb && pa <= pc ? a : pb <= pc ? b : c` mispredicts a branch about every
 * other byte. Here the distances' absolute values and both comparisons are sign masks
 * (`x >> 31`) and the choice is made with and/xor: unfiltering the 256×192 RGB sample takes
 * 0.40 ms against 0.68 ms (bench/codec_choices.ts), and it equals the textbook form for every
 * (a, b, c) (tests/unit/imaging/decode_png_test.ts checks all 2²⁴). The same loop written as
 * WebAssembly (scalar, `select` for the choices, rows copied in and out) took 0.47 ms: V8
 * compiles this one as well, so it stays JavaScript.
 */
export function unfilterPaeth(row: Uint8Array, prev: Uint8Array, bpp: number, n: number) {
  if (bpp === 3) return unfilterPaethRgb(row, prev, n);
  for (let i = bpp; i < n; i++) row[i] = paeth(row[i], row[i - bpp], prev[i], prev[i - bpp]);
}

/**
 * `unfilterPaeth` for 8-bit RGB rows, each channel's left and upper-left bytes carried in
 * locals instead of read back from the row: the whole decode of the 256×192 RGB sample
 * takes 0.56 against 0.70 ms with the generic loop (probe, alternating runs, same output).
 */
function unfilterPaethRgb(row: Uint8Array, prev: Uint8Array, n: number) {
  let a0 = row[0], a1 = row[1], a2 = row[2];
  let c0 = prev[0], c1 = prev[1], c2 = prev[2];
  for (let i = 3; i < n; i += 3) {
    const b0 = prev[i], b1 = prev[i + 1], b2 = prev[i + 2];
    row[i] = a0 = paeth(row[i], a0, b0, c0);
    row[i + 1] = a1 = paeth(row[i + 1], a1, b1, c1);
    row[i + 2] = a2 = paeth(row[i + 2], a2, b2, c2);
    c0 = b0;
    c1 = b1;
    c2 = b2;
  }
}

/** The filtered byte `x` plus the Paeth predictor of (left a, above b, upper-left c), mod 256. */
function paeth(x: number, a: number, b: number, c: number): number {
  const da = b - c, db = a - c, dc = da + db; // p − a, p − b, p − c
  const sa = da >> 31, sb = db >> 31, sc = dc >> 31;
  const pa = (da ^ sa) - sa, pb = (db ^ sb) - sb, pc = (dc ^ sc) - sc;
  const cOverB = (pc - pb) >> 31; // −1 when pc < pb
  const notA = ((pb - pa) | (pc - pa)) >> 31; // −1 when pb < pa or pc < pa
  return (x + (a ^ ((a ^ (b ^ ((b ^ c) & cOverB))) & notA))) & 255;
}

/** Reverses one row's filter in place (`prev` is the reconstructed row above, zeros for the first). */
function unfilter(row: Uint8Array, prev: Uint8Array, filter: number, bpp: number, n: number) {
  switch (filter) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) row[i] = (row[i] + row[i - bpp]) & 255;
      return;
    case 2:
      for (let i = 0; i < n; i++) row[i] = (row[i] + prev[i]) & 255;
      return;
    case 3:
      for (let i = 0; i < bpp; i++) row[i] = (row[i] + (prev[i] >> 1)) & 255;
      for (let i = bpp; i < n; i++) row[i] = (row[i] + ((row[i - bpp] + prev[i]) >> 1)) & 255;
      return;
    case 4:
      for (let i = 0; i < bpp; i++) row[i] = (row[i] + prev[i]) & 255;
      unfilterPaeth(row, prev, bpp, n);
      return;
    default:
      throw bad(`unknown row filter ${filter}`);
  }
}

/** Writes one unfiltered row's pixels into the output (alpha dropped, palette expanded). */
type RowWriter = (row: Uint8Array, n: number, outPixel: number, step: number) => void;

function rowWriter(
  h: Header,
  out: Uint8Array | Uint16Array,
  outChannels: number,
  palette?: Uint8Array,
): RowWriter {
  const { depth, channels } = h;
  if (h.colorType === 3) {
    const pal = palette!;
    const entries = pal.length / 3;
    const perByte = 8 / depth, mask = (1 << depth) - 1;
    return (row, n, o, step) => {
      for (let k = 0; k < n; k++) {
        const index = depth === 8
          ? row[k]
          : (row[(k / perByte) | 0] >> (8 - depth - (k % perByte) * depth)) & mask;
        if (index >= entries) throw bad(`palette index ${index} past ${entries} entries`);
        const d = (o + k * step) * 3;
        out[d] = pal[index * 3];
        out[d + 1] = pal[index * 3 + 1];
        out[d + 2] = pal[index * 3 + 2];
      }
    };
  }
  if (depth < 8) {
    const perByte = 8 / depth, max = (1 << depth) - 1;
    return (row, n, o, step) => {
      for (let k = 0; k < n; k++) {
        const v = (row[(k / perByte) | 0] >> (8 - depth - (k % perByte) * depth)) & max;
        out[o + k * step] = Math.round((v * 255) / max);
      }
    };
  }
  if (depth === 8) {
    if (channels === outChannels) {
      return (row, n, o, step) => {
        if (step === 1) return out.set(row.subarray(0, n * channels), o * channels);
        for (let k = 0; k < n; k++) {
          for (let c = 0; c < channels; c++) {
            out[(o + k * step) * channels + c] = row[k * channels + c];
          }
        }
      };
    }
    return (row, n, o, step) => {
      for (let k = 0; k < n; k++) {
        const s = k * channels, d = (o + k * step) * outChannels;
        for (let c = 0; c < outChannels; c++) out[d + c] = row[s + c];
      }
    };
  }
  return (row, n, o, step) => {
    for (let k = 0; k < n; k++) {
      const s = k * channels * 2, d = (o + k * step) * outChannels;
      for (let c = 0; c < outChannels; c++) out[d + c] = (row[s + 2 * c] << 8) | row[s + 2 * c + 1];
    }
  };
}

/**
 * Decodes a PNG within its budget.
 * @throws {ApiError} `bad_image` (400) when corrupt, truncated, or when its pixel data
 *   inflates to more than its header implies; `too_many_pixels` (413) over the budget
 */
export function decodePng(bytes: Uint8Array, budget: DecodeBudget): DecodedImage {
  const h = readHeader(bytes);
  const { width, height } = h;
  checkPixels(budget, width, height, "PNG");
  const list = passes(h);
  const rawBytes = list.reduce((a, p) => a + p.height * (1 + p.rowBytes), 0);
  const outChannels = h.colorType === 3 || h.channels >= 3 ? 3 : 1;
  const wide = h.depth === 16;
  const outBytes = width * height * outChannels * (wide ? 2 : 1);
  // in place when every output row fits where its filtered row was (depth ≥ 8, no palette)
  const inPlace = !h.interlaced && h.depth >= 8 && h.colorType !== 3;
  checkDecodedBytes(budget, inPlace ? rawBytes : rawBytes + outBytes, "this PNG");
  const { idat, palette } = readChunks(bytes);
  if (h.colorType === 3 && (!palette || palette.length % 3 !== 0 || palette.length === 0)) {
    throw bad("palette image without a valid PLTE chunk");
  }
  let raw: Uint8Array;
  try {
    raw = inflateSync(idat, { maxOutputLength: rawBytes, chunkSize: Math.max(64, rawBytes + 1) });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) {
      throw bad(
        `pixel data inflates past the ${rawBytes} bytes its ${width}×${height} header implies`,
      );
    }
    throw bad(`pixel data does not inflate (${e.message})`);
  }
  if (raw.length < rawBytes) throw bad("pixel data is short");
  let out: Uint8Array | Uint16Array;
  if (inPlace && (!wide || raw.byteOffset % 2 === 0)) {
    out = wide
      ? new Uint16Array(raw.buffer, raw.byteOffset, width * height * outChannels)
      : new Uint8Array(raw.buffer, raw.byteOffset, width * height * outChannels);
  } else {
    out = wide ? new Uint16Array(width * height * outChannels) : new Uint8Array(outBytes);
  }
  const bpp = Math.max(1, (h.channels * h.depth) >> 3);
  if (inPlace && !wide && h.channels === outChannels && out.buffer === raw.buffer) {
    // 8-bit grey or RGB: every row is unfiltered where it lies and moved to its final place
    // one row later (the row above is still needed as the Paeth/Up/Average reference)
    const rb = width * outChannels, stride = rb + 1;
    let prev: Uint8Array = new Uint8Array(rb);
    for (let r = 0; r < height; r++) {
      const at = r * stride;
      const row = raw.subarray(at + 1, at + stride);
      unfilter(row, prev, raw[at], bpp, rb);
      if (r > 0) raw.copyWithin((r - 1) * rb, at - stride + 1, at);
      prev = row;
    }
    raw.copyWithin((height - 1) * rb, (height - 1) * stride + 1, height * stride);
    return {
      width,
      height,
      channels: outChannels as 1 | 3,
      data: out,
      maxValue: 255,
      source: "png",
    };
  }
  const write = rowWriter(h, out, outChannels, palette);
  const maxRow = Math.max(...list.map((p) => p.rowBytes));
  let prev = new Uint8Array(maxRow), cur = new Uint8Array(maxRow);
  let offset = 0;
  for (const p of list) {
    prev.fill(0);
    for (let r = 0; r < p.height; r++) {
      const filter = raw[offset];
      cur.set(raw.subarray(offset + 1, offset + 1 + p.rowBytes));
      offset += 1 + p.rowBytes;
      unfilter(cur, prev, filter, bpp, p.rowBytes);
      write(cur, p.width, (p.y0 + r * p.dy) * width + p.x0, p.dx);
      [prev, cur] = [cur, prev];
    }
  }
  return {
    width,
    height,
    channels: outChannels as 1 | 3,
    data: out,
    maxValue: wide ? 65535 : 255,
    source: "png",
  };
}
