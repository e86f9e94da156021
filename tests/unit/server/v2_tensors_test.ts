import assert from "node:assert/strict";
import { releaseNow } from "../../../src/memory/release.ts";
import { encodeV2Response, parseV2Request } from "../../../src/server/v2_tensors.ts";

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

Deno.test("a binary V2 answer streams the output's own bytes, complete even when they are released once sent", async () => {
  const n = 1 << 20; // 4 MiB of FP32, several socket writes
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = i * 0.5;
  let sent = 0;
  const ac = new AbortController();
  const server = Deno.serve({ port: 0, signal: ac.signal, onListen() {} }, () => {
    const { body, headers } = encodeV2Response(
      { model_name: "m", model_version: "1" },
      [{ name: "mask", tensor: { data, dims: [1, 1, 1024, 1024] }, binary: true }],
      () => {
        sent++;
        releaseNow(data.buffer); // what the route does: the HTTP layer holds the bytes it was handed
      },
    );
    return new Response(body, { headers });
  });
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const headerLength = Number(res.headers.get("inference-header-content-length"));
    assert.equal(Number(res.headers.get("content-length")), headerLength + 4 * n);
    assert.equal(bytes.length, headerLength + 4 * n);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, headerLength)));
    assert.equal(header.outputs[0].parameters.binary_data_size, 4 * n);
    const out = new Float32Array(bytes.slice(headerLength).buffer);
    assert.equal(out[0], 0);
    assert.equal(out[12345], 12345 * 0.5);
    assert.equal(out[n - 1], (n - 1) * 0.5);
    assert.equal(sent, 1);
    assert.equal(data.buffer.byteLength, 0, "released after sending");
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("a JSON V2 answer carries the values inline", () => {
  const { body, headers } = encodeV2Response(
    { model_name: "m", model_version: "1", id: "x" },
    [{
      name: "mask",
      tensor: { data: Float32Array.of(0.25, 1), dims: [1, 1, 1, 2] },
      binary: false,
    }],
  );
  assert.equal(headers["Content-Type"], "application/json");
  assert.equal(typeof body, "string");
  const json = JSON.parse(body as string);
  assert.deepEqual(json.outputs[0].data, [0.25, 1]);
  assert.equal(json.id, "x");
});
