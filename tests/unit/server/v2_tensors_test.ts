import assert from "node:assert/strict";
import { releaseWhenSent } from "../../../src/memory/release.ts";
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

Deno.test("Inference-Header-Content-Length is a plain decimal count: 0x10, +10, 1e1 and 10.0 are 400", () => {
  const { body, headerLength } = binaryRequest([1, 2], "");
  const n = Number(headerLength);
  assert.equal(parseV2Request(body, ` ${n}`.trim(), 100).inputs.length, 1);
  for (const bad of [`0x${n.toString(16)}`, `+${n}`, `${n / 10}e1`, `${n}.0`, ""]) {
    assert.throws(
      () => parseV2Request(body.slice(), bad, 100),
      (err: unknown) => (err as { code?: string }).code === "bad_request",
      bad,
    );
  }
});

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

/** A 4 MiB FP32 output (several socket writes) whose values say their index. */
function largeOutput() {
  const n = 1 << 20;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = i * 0.5;
  return { n, data, tensor: { data, dims: [1, 1, 1024, 1024] } };
}

/** Checks a whole binary V2 answer of {@link largeOutput}'s tensor. */
function assertWholeAnswer(bytes: Uint8Array, headers: Headers, n: number) {
  const headerLength = Number(headers.get("inference-header-content-length"));
  assert.equal(Number(headers.get("content-length")), headerLength + 4 * n);
  assert.equal(bytes.length, headerLength + 4 * n);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, headerLength)));
  assert.equal(header.outputs[0].parameters.binary_data_size, 4 * n);
  const out = new Float32Array(bytes.slice(headerLength).buffer);
  assert.equal(out[0], 0);
  assert.equal(out[12345], 12345 * 0.5);
  assert.equal(out[n - 1], (n - 1) * 0.5);
}

Deno.test("a binary V2 answer streams the output's own bytes, released once Deno.serve has sent them", async () => {
  const { n, data, tensor } = largeOutput();
  let completed: Promise<void> | undefined;
  const ac = new AbortController();
  const server = Deno.serve({ port: 0, signal: ac.signal, onListen() {} }, (_req, info) => {
    const { body, headers } = encodeV2Response(
      { model_name: "m", model_version: "1" },
      [{ name: "mask", tensor, binary: true }],
    );
    completed = info.completed;
    releaseWhenSent(info.completed, data.buffer); // what the route does
    return new Response(body, { headers });
  });
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assertWholeAnswer(new Uint8Array(await res.arrayBuffer()), res.headers, n);
    await completed;
    await Promise.resolve(); // the release runs in a reaction to it
    assert.equal(data.buffer.byteLength, 0, "released once sent");
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("a binary V2 answer read in process is whole; its buffer is left to the collector", async () => {
  const { n, data, tensor } = largeOutput();
  const { body, headers } = encodeV2Response(
    { model_name: "m", model_version: "1" },
    [{ name: "mask", tensor, binary: true }],
  );
  releaseWhenSent(undefined, data.buffer); // app.request: no word of the response being sent
  // a whole-body read keeps the chunks and joins them at its end (what once met a released
  // buffer: "Cannot perform %TypedArray%.prototype.set on a detached ArrayBuffer")
  const res = new Response(body, { headers });
  assertWholeAnswer(new Uint8Array(await res.arrayBuffer()), res.headers, n);
  assert.equal(data.buffer.byteLength, 4 * n, "not released");
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
