/** RLE Lossless (PS3.5 Annex G): runs and literals per byte plane; corrupt headers are 400. */
import assert from "node:assert/strict";
import { ApiError } from "../../../src/errors.ts";
import { decodeRle } from "../../../src/imaging/dicom_rle.ts";

function frame(segments: number[][]): Uint8Array {
  const header = new Uint8Array(64);
  const v = new DataView(header.buffer);
  v.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((s, i) => {
    v.setUint32(4 + 4 * i, offset, true);
    offset += s.length;
  });
  return new Uint8Array([...header, ...segments.flat()]);
}

Deno.test("RLE: a replicate run and a literal run; 16-bit samples high byte first", () => {
  // 6 pixels, 8-bit: run of 3×7, then literal 1 2 3
  assert.deepEqual(
    Array.from(decodeRle(frame([[0xfe, 7, 2, 1, 2, 3]]), 6, 1, 1)),
    [7, 7, 7, 1, 2, 3],
  );
  // 2 pixels, 16-bit: high bytes [0x01, 0x02], low bytes [0x10, 0x20] → little endian output
  assert.deepEqual(
    Array.from(decodeRle(frame([[1, 0x01, 0x02], [1, 0x10, 0x20]]), 2, 1, 2)),
    [0x10, 0x01, 0x20, 0x02],
  );
  // RGB: one segment per colour, interleaved on output
  assert.deepEqual(
    Array.from(decodeRle(frame([[0xff, 9], [0xff, 8], [0xff, 7]]), 2, 3, 1)),
    [9, 8, 7, 9, 8, 7],
  );
});

Deno.test("RLE: wrong segment count, offsets past the end, short segments are bad_dicom", () => {
  const cases: [Uint8Array, number, number, RegExp][] = [
    [frame([[0xfe, 7]]), 3, 3, /1 segments; 3 samples/],
    [new Uint8Array(10), 3, 1, /shorter than its header/],
    [frame([[0xfe, 7]]).slice(0, 65), 3, 1, /decodes to 0 bytes|offsets/],
    [frame([[0x00, 5]]), 3, 1, /decodes to 1 bytes; the frame needs 3/],
  ];
  for (const [bytes, pixels, samples, message] of cases) {
    assert.throws(() => decodeRle(bytes, pixels, samples, 1), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, "bad_dicom");
      assert.match(err.message, message);
      return true;
    });
  }
  const huge = frame([[0xfe, 1]]);
  new DataView(huge.buffer).setUint32(4, 1 << 30, true);
  assert.throws(() => decodeRle(huge, 3, 1, 1), /offsets/);
});
