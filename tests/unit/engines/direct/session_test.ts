/**
 * The native engine serves a model the direct kernels cover as a direct session on this
 * isolate (no engine host Worker): its runs overlap up to its lanes and agree with
 * onnxruntime's; a model they do not cover, or `kernels: "onnxruntime"`, gets onnxruntime.
 */
import assert from "node:assert/strict";
import { unetModel } from "../../../../lib/onnx_builder.ts";
import { nativeEngine } from "../../../../src/engines/onnx_native.ts";
import { DirectSession } from "../../../../src/engines/direct/session.ts";
import { liveHosts } from "../../../../src/engines/engine_host.ts";
import type { ModelSource, Tensor } from "../../../../src/engines/engine.ts";

const source = (bytes: Uint8Array): ModelSource => ({ path: "unet.onnx", bytes, externalData: [] });
const image = (seed: number): Record<string, Tensor> => ({
  image: {
    data: Float32Array.from({ length: 3 * 48 * 64 }, (_, i) => Math.sin(i * seed)),
    dims: [1, 3, 48, 64],
  },
});

Deno.test({
  name: "a covered model is a direct session on this isolate; onnxruntime answers the same",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const bytes = unetModel({ width: 4, depth: 3, seed: 9 });
    const direct = await nativeEngine.createSession(source(bytes), { threads: 1, lanes: 2 });
    assert.ok(direct instanceof DirectSession);
    assert.equal(direct.lanes, 2);
    assert.match(direct.notes[0], /direct kernels.*off the event loop, 2 at once/);
    assert.equal(liveHosts().length, 0, "no engine host Worker");
    const ort = await nativeEngine.createSession(source(bytes), {
      threads: 1,
      kernels: "onnxruntime",
    });
    assert.ok(!(ort instanceof DirectSession));
    assert.ok(ort.notes.includes("onnxruntime"));
    try {
      const both = await Promise.all([direct.run(image(1)), direct.run(image(2))]);
      for (const [i, out] of both.entries()) {
        const want = (await ort.run(image(i + 1))).logits.data;
        assert.ok(out.logits.data.every((v, k) => Math.abs(v - want[k]) < 1e-4));
      }
    } finally {
      await direct.release();
      await ort.release();
    }
  },
});

Deno.test({
  name: "a model the direct kernels do not cover runs on onnxruntime, with the reason in its notes",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const wide = await nativeEngine.createSession(source(unetModel({ width: 32, depth: 2 })), {
      threads: 1,
    });
    try {
      assert.ok(!(wide instanceof DirectSession));
      assert.ok(
        wide.notes.some((n) => /onnxruntime \(not the direct kernels: .*128 channels/.test(n)),
        wide.notes.join("; "),
      );
    } finally {
      await wide.release();
    }
  },
});
