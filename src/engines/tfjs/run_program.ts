/**
 * Runs a compiled {@link Program}: NCHW feeds are transposed to NHWC once, each step runs
 * in its own `tidy` (its temporaries freed at once), each activation is disposed after its
 * last reader, and outputs are transposed back to NCHW. The whole run is synchronous, so
 * runs of different sessions on the shared tfjs backend can never interleave.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import type { Tensor as EngineTensor } from "../engine.ts";
import type { Tf } from "./backend.ts";
import type { Program } from "./compile.ts";

function checkFeed(program: Program, name: string, t: EngineTensor | undefined): EngineTensor {
  const input = program.inputs.find((i) => i.name === name)!;
  if (!t) throw new Error(`missing input "${name}"`);
  if (t.dims.length !== 4) {
    throw new Error(`input "${name}" must have rank 4 (NCHW), got [${t.dims}]`);
  }
  input.dims.forEach((d, i) => {
    if (d !== null && t.dims[i] !== d) {
      throw new Error(`input "${name}" dim ${i} must be ${d}, got [${t.dims}]`);
    }
  });
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new Error(`input "${name}" has ${t.data.length} values for dims [${t.dims}]`);
  }
  return t;
}

/**
 * Runs the program once.
 * @param feeds NCHW float32 inputs by name
 * @returns NCHW float32 outputs by name
 * @throws {Error} on missing or mis-shaped inputs, or when a step fails (all tensors freed)
 */
export function runProgram(
  tf: Tf,
  program: Program,
  feeds: Record<string, EngineTensor>,
): Record<string, EngineTensor> {
  const env = new Map<string, Tensor>();
  try {
    for (const input of program.inputs) {
      const t = checkFeed(program, input.name, feeds[input.name]);
      env.set(
        input.name,
        tf.tidy(() =>
          tf.transpose(tf.tensor4d(t.data, t.dims as [number, number, number, number]), [
            0,
            2,
            3,
            1,
          ])
        ),
      );
    }
    program.steps.forEach((step, k) => {
      const xs = step.inputs.map((name) => env.get(name)!);
      const y = tf.tidy(() => {
        const out = step.run(xs);
        return xs.includes(out) ? tf.clone(out) : out;
      });
      env.get(step.output)?.dispose();
      env.set(step.output, y);
      for (const name of step.inputs) {
        if (program.lastUse.get(name) === k) {
          env.get(name)?.dispose();
          env.delete(name);
        }
      }
    });
    const result: Record<string, EngineTensor> = {};
    for (const name of program.outputs) {
      const nchw = tf.tidy(() => tf.transpose(env.get(name)!, [0, 3, 1, 2]));
      try {
        result[name] = {
          data: new Float32Array(nchw.dataSync() as Float32Array),
          dims: [...nchw.shape],
        };
      } finally {
        nchw.dispose();
      }
    }
    return result;
  } finally {
    for (const t of env.values()) t.dispose();
  }
}
