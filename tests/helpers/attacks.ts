/**
 * Hostile inputs for the hardening tests, made in code (small files that cost a naive
 * server a lot): a PNG whose IDAT inflates far past its header, a large 16-bit RGBA PNG of
 * zeros, and a progressive JPEG with thousands of tiny scans.
 *
 * @module
 */
import { constants, deflateRawSync, deflateSync } from "node:zlib";

/** Bytes usable as a fetch body. */
export type Bytes = Uint8Array<ArrayBuffer>;

const crcTable = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A PNG file from its IHDR fields and (already compressed) IDAT data. */
export function pngFile(
  width: number,
  height: number,
  depth: number,
  colorType: number,
  idat: Uint8Array,
  interlace = 0,
): Bytes {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, interlace], 8);
  return concat([
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/**
 * A 16×16 grey PNG whose IDAT inflates to `inflatedBytes` of zeros (1 GiB from ~1 MB at
 * deflate's ~1030:1 best ratio). One 64 MiB piece is compressed and repeated.
 */
export function idatBomb(inflatedBytes = 2 ** 30): Bytes {
  // Raw deflate pieces ended by a sync flush (no final block, byte-aligned, no references
  // across pieces) can be concatenated; an empty final block and the adler32 close it.
  const piece = 64 * 2 ** 20;
  const count = Math.max(1, Math.round(inflatedBytes / piece));
  const body = deflateRawSync(new Uint8Array(piece), {
    level: 9,
    finishFlush: constants.Z_SYNC_FLUSH,
  });
  const end = deflateRawSync(new Uint8Array(0));
  const adler = adler32Zeros(count * piece);
  const tail = new Uint8Array([
    adler >>> 24,
    (adler >>> 16) & 255,
    (adler >>> 8) & 255,
    adler & 255,
  ]);
  const parts: Uint8Array[] = [new Uint8Array([0x78, 0xda])];
  for (let i = 0; i < count; i++) parts.push(body);
  parts.push(end, tail);
  return pngFile(16, 16, 8, 0, concat(parts));
}

function adler32Zeros(n: number): number {
  // a = 1 + sum(bytes) = 1; b = sum of a after each byte = n (mod 65521)
  const a = 1, b = n % 65521;
  return ((b << 16) | a) >>> 0;
}

/** A `size`² RGBA 16-bit PNG of zeros (~130 KB for 4096², 134 MB of filtered samples). */
export function zeroRgba16Png(size = 4096): Bytes {
  const raw = new Uint8Array(size * (1 + size * 8));
  return pngFile(size, size, 16, 6, deflateSync(raw, { level: 9 }));
}

/** Bits into bytes with JPEG byte stuffing (0xFF → 0xFF 0x00), padded with 1s. */
class BitWriter {
  bytes: number[] = [];
  #acc = 0;
  #n = 0;
  write(value: number, bits: number) {
    for (let i = bits - 1; i >= 0; i--) {
      this.#acc = (this.#acc << 1) | ((value >> i) & 1);
      if (++this.#n === 8) this.#flushByte();
    }
  }
  #flushByte() {
    this.bytes.push(this.#acc);
    if (this.#acc === 0xff) this.bytes.push(0);
    this.#acc = 0;
    this.#n = 0;
  }
  end(): number[] {
    while (this.#n !== 0) this.write(1, 1);
    return this.bytes;
  }
}

function segment(marker: number, body: number[]): number[] {
  const length = body.length + 2;
  return [0xff, marker, length >> 8, length & 255, ...body];
}

/**
 * A greyscale progressive JPEG of `size`² with `scans` scans: one DC scan, then AC scans
 * that each code every block as one long end-of-band run (~35 bytes a scan). A decoder
 * without a scan cap visits every block once per scan (20,000 × 262,144 for 4096²).
 */
export function manyScanJpeg(size = 4096, scans = 20_000): Bytes {
  const blocks = Math.ceil(size / 8) ** 2;
  const out: number[] = [0xff, 0xd8];
  out.push(...segment(0xdb, [0, ...new Array(64).fill(1)])); // DQT: all ones
  out.push(...segment(0xc2, [8, size >> 8, size & 255, size >> 8, size & 255, 1, 1, 0x11, 0]));
  // DC table 0: one code "0" → category 0; AC table 0: one code "0" → EOB14 (0xE0)
  out.push(...segment(0xc4, [0x00, 1, ...new Array(15).fill(0), 0x00]));
  out.push(...segment(0xc4, [0x10, 1, ...new Array(15).fill(0), 0xe0]));
  const dc = new BitWriter();
  for (let i = 0; i < blocks; i++) dc.write(0, 1);
  out.push(...segment(0xda, [1, 1, 0x00, 0, 0, 0]), ...dc.end());
  const ac = new BitWriter();
  for (let left = blocks; left > 0; left -= 32767) {
    ac.write(0, 1); // EOB14
    ac.write(0x3fff, 14); // run = 2^14 + 16383 = 32767 blocks
  }
  const acBytes = ac.end();
  const acScan = [...segment(0xda, [1, 1, 0x00, 1, 63, 0]), ...acBytes];
  const all = new Uint8Array(out.length + acScan.length * (scans - 1) + 2);
  all.set(out);
  for (let s = 0; s < scans - 1; s++) all.set(acScan, out.length + s * acScan.length);
  all.set([0xff, 0xd9], all.length - 2);
  return all;
}
