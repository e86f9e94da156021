import assert from "node:assert/strict";
import { parseV2Request } from "../../../src/server/v2_tensors.ts";

function binaryRequest(values: number[], pad: string) {
  const x = Float32Array.from(values);
  const header = new TextEncoder().encode(JSON.stringify({
    id: pad,
    inputs: [{
      name: "image",
      datatype: "FP32",
      shape: [1, 1, 1, values.length],
      parameters: { binary_data_size: x.byteLength },
    }],
  }));
  const body = new Uint8Array(header.length + x.byteLength);
  body.set(header);
  body.set(new Uint8Array(x.buffer), header.length);
  return { body, headerLength: String(header.length) };
}

Deno.test("V2 binary tensors are read in place at any header length (views of the body, realigned)", () => {
  const values = [0.5, -1, 3.25, 1e-3, 7];
  for (const pad of ["", "a", "ab", "abc", "abcd"]) { // header lengths of every remainder mod 4
    const { body, headerLength } = binaryRequest(values, pad);
    const req = parseV2Request(body, headerLength, 100);
    const data = req.inputs[0].tensor.data;
    assert.deepEqual(Array.from(data), Array.from(Float32Array.from(values)), `pad "${pad}"`);
    assert.equal(data.buffer, body.buffer, "no copy: the tensor is a view of the body");
    assert.equal(req.id, pad);
  }
});
