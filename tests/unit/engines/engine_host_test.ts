import assert from "node:assert/strict";
import { HostedSession } from "../../../src/engines/host_session.ts";
import { collectEngineHosts } from "../../../src/engines/engine_host.ts";

const path = new URL("../../../models/isic2017/3/model.onnx", import.meta.url).pathname;

Deno.test("engine hosts collect their garbage on request, in order with runs, and keep answering the same", async () => {
  const model = { path, bytes: await Deno.readFile(path), externalData: [] };
  const session = await HostedSession.create("wasm", "wasm", model, { threads: 1 }, 1);
  try {
    const feeds = {
      image: { data: new Float32Array(3 * 64 * 64).fill(0.5), dims: [1, 3, 64, 64] },
    };
    const first = await session.run(feeds);
    const collected = await collectEngineHosts();
    assert.equal(collected.length, 1);
    const [{ before, after }] = collected;
    assert.ok(before > 0 && after <= before, `used heap ${before} → ${after}`);
    const again = await session.run(feeds);
    const name = Object.keys(first)[0];
    assert.deepEqual(Array.from(again[name].data), Array.from(first[name].data));
  } finally {
    await session.release();
  }
  assert.deepEqual(await collectEngineHosts(), []); // the last release ended the host
});
