/**
 * The one TensorProto reader (src/onnx/tensor_data.ts): every storage form gives the same
 * numbers, short or missing data and unsafe external locations are errors, and an element
 * type it cannot hold says which.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Attributes } from "../../../src/onnx/attributes.ts";
import { DataType, type onnx } from "../../../src/onnx/proto.ts";
import { roundHalfEven } from "../../../src/onnx/quantize_linear.ts";
import {
  checkExternalLocation,
  readTensor,
  UnsupportedElementTypeError,
} from "../../../src/onnx/tensor_data.ts";

const values = [1.5, -2, 0.25, 3];
const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

Deno.test("readTensor: raw, typed-field and external float32 give the same values", () => {
  const raw = readTensor({
    dims: [2, 2],
    dataType: DataType.FLOAT,
    rawData: bytes(Float32Array.from(values)),
  });
  const typed = readTensor({ dims: [2, 2], dataType: DataType.FLOAT, floatData: values });
  const file = new Uint8Array(8 + 16);
  file.set(bytes(Float32Array.from(values)), 8);
  const external = readTensor(
    {
      name: "w",
      dims: [2, 2],
      dataType: DataType.FLOAT,
      dataLocation: 1,
      externalData: [{ key: "location", value: "w.bin" }, { key: "offset", value: "8" }],
    },
    new Map([["w.bin", file]]),
  );
  for (const t of [raw, typed, external]) {
    assert.deepEqual([...t.data], values);
    assert.deepEqual(t.dims, [2, 2]);
  }
});

Deno.test("readTensor: int8, uint8, int32 and int64 become float32", () => {
  const cases: [number, ArrayBufferView, number[]][] = [
    [DataType.INT8, Int8Array.from([-128, 0, 127]), [-128, 0, 127]],
    [DataType.UINT8, Uint8Array.from([0, 128, 255]), [0, 128, 255]],
    [DataType.INT32, Int32Array.from([-7, 0, 1 << 20]), [-7, 0, 1 << 20]],
    [DataType.INT64, BigInt64Array.from([-1n, 0n, 1n << 23n]), [-1, 0, 1 << 23]],
  ];
  for (const [dataType, view, expected] of cases) {
    const t = readTensor({ dims: [3], dataType, rawData: bytes(view) });
    assert.deepEqual([...t.data], expected);
  }
});

Deno.test("readTensor: short data, missing or out-of-range external data, unknown types are errors", () => {
  const short: onnx.ITensorProto = {
    dims: [4],
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(8),
  };
  assert.throws(() => readTensor(short), /8 bytes, needs 16/);
  const ext = (offset: string): onnx.ITensorProto => ({
    name: "w",
    dims: [1],
    dataType: DataType.FLOAT,
    dataLocation: 1,
    externalData: [{ key: "location", value: "w.bin" }, { key: "offset", value: offset }],
  });
  assert.throws(() => readTensor(ext("0")), /external data "w.bin" was not provided/);
  assert.throws(
    () => readTensor(ext("8"), new Map([["w.bin", new Uint8Array(4)]])),
    /outside "w.bin"/,
  );
  assert.throws(
    () => readTensor({ name: "h", dims: [1], dataType: 10, rawData: new Uint8Array(2) }),
    (err) => err instanceof UnsupportedElementTypeError && /float16/.test(err.message),
  );
});

Deno.test("external-data locations must stay inside the model folder", () => {
  assert.equal(checkExternalLocation("model.onnx.data", "m.onnx"), "model.onnx.data");
  assert.equal(checkExternalLocation("weights/a.bin", "m.onnx"), "weights/a.bin");
  for (const bad of ["../secret", "/etc/passwd", "a/../../b", "", undefined]) {
    assert.throws(() => checkExternalLocation(bad, "m.onnx"), /m\.onnx: .*leaves the model folder/);
  }
});

Deno.test("attributes are read by name with defaults; QuantizeLinear rounds half to even", () => {
  const a = new Attributes({
    opType: "Conv",
    attribute: [
      { name: "group", i: 2 },
      { name: "pads", ints: [1, 1, 1, 1] },
      { name: "auto_pad", s: new TextEncoder().encode("SAME_UPPER") },
      { name: "alpha", f: 0.5 },
    ],
  });
  assert.equal(a.int("group", 1), 2);
  assert.equal(a.int("missing", 7), 7);
  assert.deepEqual(a.ints("pads", []), [1, 1, 1, 1]);
  assert.equal(a.string("auto_pad", "NOTSET"), "SAME_UPPER");
  assert.equal(a.float("alpha", 0.01), 0.5);
  assert.ok(a.has("group") && !a.has("strides"));
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -2.5, 2.4].map(roundHalfEven), [0, 2, 2, -0, -2, 2]);
});
