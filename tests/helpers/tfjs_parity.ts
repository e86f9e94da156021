/**
 * Helpers for the tfjs-wasm engine tests: single-op ONNX graphs written with the shared
 * GraphBuilder, and a comparison of one model on onnxruntime-node vs tfjs-wasm.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { EngineSession, ModelSource, Tensor } from "../../src/engines/engine.ts";
import { nativeEngine } from "../../src/engines/onnx_native.ts";
import { tfjsWasmEngine } from "../../src/engines/tfjs_wasm.ts";
import { GraphBuilder, seededRandom } from "../../lib/onnx_builder.ts";
import { DataType, type onnx } from "../../src/onnx/proto.ts";

/** ONNX attribute constructors. */
export const attr = {
  int: (name: string, i: number): onnx.IAttributeProto => ({ name, type: 2, i }),
  float: (name: string, f: number): onnx.IAttributeProto => ({ name, type: 1, f }),
  ints: (name: string, ints: number[]): onnx.IAttributeProto => ({ name, type: 7, ints }),
  string: (name: string, s: string): onnx.IAttributeProto => ({
    name,
    type: 3,
    s: new TextEncoder().encode(s),
  }),
};

/** Adds an initializer of any supported element type (int8/uint8/int32/int64 stored as raw data). */
export function addTensor(
  g: GraphBuilder,
  name: string,
  values: number[] | Float32Array,
  dims: number[],
  dataType: number = DataType.FLOAT,
): string {
  const raw = dataType === DataType.FLOAT
    ? new Uint8Array(Float32Array.from(values).buffer)
    : dataType === DataType.INT8
    ? new Uint8Array(Int8Array.from(values).buffer)
    : dataType === DataType.UINT8
    ? Uint8Array.from(values)
    : dataType === DataType.INT32
    ? new Uint8Array(Int32Array.from(values).buffer)
    : new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
  g.initializers.push({ name, dims, dataType, rawData: raw });
  return name;
}

/** Seeded uniform values in [lo, hi). */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rnd = seededRandom(seed);
  return new Float32Array(n).map(() => lo + (hi - lo) * rnd());
}

/**
 * A one-input graph: `x` [1, C, "H", "W"] → body → output `y` (dynamic dims).
 * @param body adds nodes and returns the output value name
 */
export function opGraph(
  channels: number,
  body: (g: GraphBuilder, x: string) => string,
  opset = 17,
): Uint8Array {
  const g = new GraphBuilder(99);
  const x = g.input("x", ["N", channels, "H", "W"]);
  g.output(body(g, x), "y", ["N", "C", "OH", "OW"]);
  return g.build(opset);
}

function source(bytes: Uint8Array): ModelSource {
  return { path: "test.onnx", bytes, externalData: [] };
}

async function runOnce(
  session: EngineSession,
  feeds: Record<string, Tensor>,
): Promise<Record<string, Tensor>> {
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Largest |a - b|. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, "output sizes differ");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Result of {@link compareEngines}. */
export interface Comparison {
  native: Tensor;
  tfjs: Tensor;
  diff: number;
}

/**
 * Runs a model on onnxruntime-node (1 thread) and on tfjs-wasm with the same random input
 * and checks shapes match, the output is not constant, and max |diff| ≤ `tol`.
 */
export async function compareEngines(
  model: Uint8Array | ModelSource,
  dims: number[],
  options: {
    seed?: number;
    tol?: number;
    input?: string;
    output?: string;
    lo?: number;
    hi?: number;
  } = {},
): Promise<Comparison> {
  const src = model instanceof Uint8Array ? source(model) : model;
  const { seed = 1, tol = 1e-4, input = "x", output = "y" } = options;
  const data = randomValues(
    dims.reduce((a, b) => a * b, 1),
    seed,
    options.lo ?? -1,
    options.hi ?? 1,
  );
  const feeds = { [input]: { data, dims } };
  const native =
    (await runOnce(await nativeEngine.createSession(src, { threads: 1 }), feeds))[output];
  const tfjs = (await runOnce(await tfjsWasmEngine.createSession(src), feeds))[output];
  assert.deepEqual(tfjs.dims, native.dims, "output shapes differ");
  assert.ok(
    native.data.some((v) => v !== native.data[0]),
    "reference output is constant: the test proves nothing",
  );
  const diff = maxAbsDiff(native.data, tfjs.data);
  assert.ok(diff <= tol, `tfjs-wasm differs from onnxruntime-node by ${diff} (> ${tol})`);
  return { native, tfjs, diff };
}
