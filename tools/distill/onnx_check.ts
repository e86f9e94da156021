/**
 * ONNX-vs-PyTorch output check used by `tools/distill/export.py` when Python
 * onnxruntime is not importable.  Runs the model with onnxruntime-node and
 * compares against the PyTorch output saved next to the input.
 *
 * deno run -A tools/distill/onnx_check.ts model.onnx input.json expected.json [tol]
 * input.json / expected.json: {"shape": [n, c, h, w], "data": [float, ...]}
 * Prints one JSON line {"max_abs_diff", "tol", "ok", "shape"}; exit code 1 when not ok.
 */
import * as ort from "onnxruntime-node";

type Blob = { shape: number[]; data: number[] };

const [modelPath, inputPath, expectedPath, tolArg] = Deno.args;
if (!modelPath || !inputPath || !expectedPath) {
  console.error("usage: onnx_check.ts model.onnx input.json expected.json [tol]");
  Deno.exit(2);
}
const tol = tolArg ? Number(tolArg) : 1e-4;
const input: Blob = JSON.parse(await Deno.readTextFile(inputPath));
const expected: Blob = JSON.parse(await Deno.readTextFile(expectedPath));

const session = await ort.InferenceSession.create(modelPath);
const feeds = { image: new ort.Tensor("float32", Float32Array.from(input.data), input.shape) };
const out = await session.run(feeds);
const logits = out["logits"];
if (!logits) {
  console.error(`model has no output named "logits" (got ${Object.keys(out).join(", ")})`);
  Deno.exit(1);
}
const got = logits.data as Float32Array;
let maxDiff = 0;
if (got.length !== expected.data.length) {
  maxDiff = Infinity;
} else {
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - expected.data[i]);
    if (!(d <= maxDiff)) maxDiff = d; // NaN propagates as not ok
  }
}
const ok = Number.isFinite(maxDiff) && maxDiff <= tol;
console.log(JSON.stringify({ max_abs_diff: maxDiff, tol, ok, shape: logits.dims }));
Deno.exit(ok ? 0 : 1);
