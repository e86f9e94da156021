import assert from "node:assert/strict";
import { fixtureServer } from "../../../helpers/model_repo.ts";
import { v2BinaryBody, v2Input } from "../../../../lib/v2_bodies.ts";
import { inspectModel } from "../../../../src/onnx/inspect.ts";
import { planTiles } from "../../../../src/engines/tiles.ts";

const H = 32, W = 48;
const input = (seed = 1) => v2Input(H, W, { seed, lo: -1, hi: 1 });

/** Splits a binary-extension response into its JSON header and binary tail. */
async function splitBinary(res: Response) {
  const n = Number(res.headers.get("inference-header-content-length"));
  const body = new Uint8Array(await res.arrayBuffer());
  return {
    header: JSON.parse(new TextDecoder().decode(body.subarray(0, n))),
    binary: body.slice(n),
  };
}

/** Posts `x` as a `[1, 3, h, w]` binary-extension V2 request to `path`. */
function postBinary(
  app: { request(path: string, init: RequestInit): Response | Promise<Response> },
  path: string,
  x: Float32Array,
  h: number,
  w: number,
) {
  const { body, headerLength } = v2BinaryBody(x, h, w);
  return app.request(path, {
    method: "POST",
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(headerLength),
    },
    body,
  });
}

Deno.test("V2 server metadata, liveness and readiness", async () => {
  await using s = await fixtureServer();
  const meta = await (await s.app.request("/v2")).json();
  assert.equal(meta.name, "tinyunet-edge");
  assert.ok(meta.extensions.includes("binary_tensor_data"));
  assert.equal((await s.app.request("/v2/health/live")).status, 200);
  assert.equal((await s.app.request("/v2/health/ready")).status, 200);
  const model = await (await s.app.request("/v2/models/lesion")).json();
  assert.deepEqual(model.inputs, [{ name: "image", datatype: "FP32", shape: [1, 3, -1, -1] }]);
  assert.deepEqual(model.versions, ["1"]);
  assert.equal((await s.app.request("/v2/models/lesion/versions/1/ready")).status, 200);
  assert.equal((await s.app.request("/v2/models/lesion/ready")).status, 200);
  const missing = await s.app.request("/v2/models/nope/ready");
  assert.equal(missing.status, 404);
  assert.equal(typeof (await missing.json()).error, "string");
});

Deno.test("V2 JSON infer and binary infer give the same logits", async () => {
  await using s = await fixtureServer();
  const x = input();
  const jsonRes = await s.app.request("/v2/models/lesion/infer", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id: "req-1",
      inputs: [{ name: "image", shape: [1, 3, H, W], datatype: "FP32", data: Array.from(x) }],
    }),
  });
  assert.equal(jsonRes.status, 200);
  const json = await jsonRes.json();
  assert.equal(json.id, "req-1");
  assert.equal(json.model_name, "lesion");
  assert.deepEqual(json.outputs[0].shape, [1, 1, H, W]);
  const fromJson = Float32Array.from(json.outputs[0].data as number[]);

  const binRes = await postBinary(s.app, "/v2/models/lesion/versions/1/infer", x, H, W);
  assert.equal(binRes.status, 200);
  const { header: h, binary } = await splitBinary(binRes);
  assert.equal(h.outputs[0].parameters.binary_data_size, H * W * 4);
  assert.equal(binary.length, H * W * 4);
  const fromBinary = new Float32Array(binary.buffer, binary.byteOffset, H * W);
  assert.deepEqual(Array.from(fromBinary), Array.from(fromJson));
  assert.ok(fromJson.some((v) => v !== fromJson[0]));
});

Deno.test("V2 nested JSON data and binary_data_output work", async () => {
  await using s = await fixtureServer();
  const flat = Array.from(input(2));
  const nested = [[
    Array.from(
      { length: 3 },
      (_, c) =>
        Array.from({ length: H }, (_, y) => flat.slice(c * H * W + y * W, c * H * W + (y + 1) * W)),
    ),
  ]];
  const res = await s.app.request("/v2/models/lesion/infer", {
    method: "POST",
    body: JSON.stringify({
      inputs: [{ name: "image", shape: [1, 3, H, W], datatype: "FP32", data: nested }],
      parameters: { binary_data_output: true },
    }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/octet-stream");
  const { binary } = await splitBinary(res);
  assert.equal(binary.length, H * W * 4);
});

Deno.test("V2 errors: malformed JSON 400, bad framing 400, wrong shape/datatype/NaN 422, huge 413, unknown 404", async () => {
  await using s = await fixtureServer([{ name: "lesion" }], { maxPixels: 100_000, maxQueue: 32 }); // all cases are sent at once and each is admitted (holds a queue place) before its body is read
  const ok = { name: "image", shape: [1, 3, H, W], datatype: "FP32", data: Array.from(input()) };
  const post = async (
    body: BodyInit,
    headers: Record<string, string> = {},
    path = "/v2/models/lesion/infer",
  ) => await s.app.request(path, { method: "POST", headers, body });
  const cases: [Promise<Response>, number, string][] = [
    [post("{not json"), 400, "bad_json"],
    [post(JSON.stringify({})), 400, "bad_request"],
    [post(JSON.stringify({ inputs: [] })), 400, "bad_request"],
    [post(JSON.stringify({ inputs: [{ ...ok, name: "x" }] })), 400, "bad_request"],
    [post(JSON.stringify({ inputs: [{ ...ok, datatype: "INT64" }] })), 422, "invalid_tensor"],
    [post(JSON.stringify({ inputs: [{ ...ok, shape: [1, 1, H, W] }] })), 422, "invalid_tensor"],
    [
      post(
        JSON.stringify({ inputs: [{ ...ok, shape: [1, 3, 30, 50], data: Array(4500).fill(0) }] }),
      ),
      422,
      "invalid_tensor",
    ],
    [post(JSON.stringify({ inputs: [{ ...ok, data: [1, 2, 3] }] })), 422, "invalid_tensor"],
    [
      post(
        JSON.stringify({ inputs: [{ ...ok, data: ok.data.map((v, i) => (i === 7 ? "NaN" : v)) }] }),
      ),
      422,
      "invalid_tensor",
    ],
    [
      post(
        JSON.stringify({ inputs: [{ ...ok, data: ok.data.map((v, i) => (i === 7 ? 1e400 : v)) }] })
          .replace("Infinity", "1e400"),
      ),
      422,
      "invalid_tensor",
    ],
    [
      post(JSON.stringify({ inputs: [{ ...ok, shape: [1, 3, 4096, 4096], data: [] }] })),
      413,
      "too_many_pixels",
    ],
    [post(JSON.stringify({ inputs: [{ ...ok, shape: "big" }] })), 422, "invalid_tensor"],
    [post(JSON.stringify({ inputs: [ok], outputs: [{ name: "nope" }] })), 400, "bad_request"],
    [
      post(JSON.stringify({ inputs: [ok] }), { "inference-header-content-length": "999999" }),
      400,
      "bad_request",
    ],
    [
      post(JSON.stringify({ inputs: [ok] }), { "inference-header-content-length": "-3" }),
      400,
      "bad_request",
    ],
    [
      post(
        JSON.stringify({
          inputs: [{ ...ok, data: undefined, parameters: { binary_data_size: 64 } }],
        }),
      ),
      400,
      "bad_request",
    ],
    [
      post(JSON.stringify({ inputs: [ok] }), {}, "/v2/models/../../etc/passwd/infer"),
      404,
      "not_found",
    ],
    [post(JSON.stringify({ inputs: [ok] }), {}, "/v2/models/nope/infer"), 404, "model_not_found"],
    [
      post(JSON.stringify({ inputs: [ok] }), {}, "/v2/models/lesion/versions/7/infer"),
      404,
      "model_not_found",
    ],
  ];
  for (const [i, [promise, status, code]] of cases.entries()) {
    const res = await promise;
    const body = await res.json();
    assert.equal(res.status, status, `case ${i}: ${JSON.stringify(body)}`);
    assert.equal(body.code, code, `case ${i}`);
    assert.equal(typeof body.error, "string");
  }
});

Deno.test("a binary V2 answer over 1 MiB is whole in process and through Deno.serve", async () => {
  // 512×576 logits: 1.1 MiB, past the size whose buffers are released early
  const [h, w] = [512, 576];
  const x = v2Input(h, w, { seed: 9, lo: -1, hi: 1 });
  const path = "/v2/models/lesion/infer";
  await using s = await fixtureServer(undefined, { maxBodyBytes: 8 * 2 ** 20 });
  const inProcess = await postBinary(s.app, path, x, h, w);
  assert.equal(inProcess.status, 200);
  const local = await splitBinary(inProcess);
  assert.equal(local.binary.length, 4 * h * w);
  const ac = new AbortController();
  const server = Deno.serve({ port: 0, signal: ac.signal, onListen() {} }, s.app.fetch);
  try {
    const served = await postBinary(
      { request: (p, init) => fetch(`http://127.0.0.1:${server.addr.port}${p}`, init) },
      path,
      x,
      h,
      w,
    );
    assert.equal(served.status, 200);
    assert.deepEqual((await splitBinary(served)).binary, local.binary);
    // a second answer after the first was sent and released
    const again = await postBinary(s.app, path, x, h, w);
    assert.deepEqual((await splitBinary(again)).binary, local.binary);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("V2 infer over TINYUNET_TILE_PIXELS runs in overlapping tiles with the whole run's output", async () => {
  const [h, w] = [320, 384];
  const x = v2Input(h, w, { seed: 5, lo: -1, hi: 1 });
  const logits = async (tilePixels: number) => {
    await using s = await fixtureServer(undefined, { tilePixels });
    const res = await postBinary(s.app, "/v2/models/lesion/infer", x, h, w);
    assert.equal(res.status, 200);
    const { binary } = await splitBinary(res);
    const field = inspectModel(await Deno.readFile(`${s.root}/lesion/1/model.onnx`)).receptiveField;
    const plan = planTiles(h, w, field, tilePixels);
    return {
      out: new Float32Array(binary.buffer, binary.byteOffset, h * w),
      tiles: s.registry.get("lesion").tiles,
      planned: plan ? plan.rows.length * plan.cols.length : 0,
    };
  };
  const whole = await logits(0);
  const tiled = await logits(256 * 256);
  assert.equal(whole.tiles, 0);
  assert.ok(tiled.planned > 1, "the fixture U-Net can be tiled");
  assert.equal(tiled.tiles, tiled.planned, "the request ran as the planned tiles");
  const diff = whole.out.reduce((m, v, i) => Math.max(m, Math.abs(v - tiled.out[i])), 0);
  assert.ok(diff < 1e-4, `tiled output differs by ${diff}`);
  assert.ok(whole.out.some((v) => v !== whole.out[0]));
});

Deno.test("a tiled V2 run whose deadline passes answers 504 and starts no further tile", async () => {
  const [h, w] = [1024, 1024];
  const x = v2Input(h, w, { seed: 7, lo: -1, hi: 1 });
  const path = "/v2/models/lesion/infer";
  const maxBodyBytes = 16 * 2 ** 20; // the tensor is 12 MiB
  // how long the whole tiled run takes here, then a deadline well inside it
  let planned = 0, tilePixels = 0, took = 0;
  {
    await using s = await fixtureServer();
    const field = inspectModel(await Deno.readFile(`${s.root}/lesion/1/model.onnx`)).receptiveField;
    for (const side of [96, 128, 160, 192, 256]) {
      const plan = planTiles(h, w, field, side * side);
      if (plan) {
        planned = plan.rows.length * plan.cols.length;
        tilePixels = side * side;
        break;
      }
    }
    assert.ok(planned > 16, `${planned} tiles`);
  }
  {
    await using s = await fixtureServer(undefined, { tilePixels, maxBodyBytes });
    const t0 = performance.now();
    assert.equal((await postBinary(s.app, path, x, h, w)).status, 200);
    took = performance.now() - t0;
  }
  await using s = await fixtureServer(undefined, {
    tilePixels,
    maxBodyBytes,
    // well inside it: a run under a lighter load than the timed one still passes it
    requestTimeoutMs: Math.max(20, Math.round(took / 8)),
  });
  const res = await postBinary(s.app, path, x, h, w);
  assert.equal(res.status, 504, await res.text());
  const mv = s.registry.get("lesion");
  const atAnswer = mv.tiles;
  await new Promise((r) => setTimeout(r, Math.max(100, took / 2)));
  assert.ok(mv.tiles <= atAnswer + 1, `tiles kept starting: ${atAnswer} → ${mv.tiles}`);
  assert.ok(
    mv.tiles < planned,
    `${mv.tiles} of ${planned} tiles ran (whole run ${took.toFixed(0)} ms)`,
  );
});
