/**
 * A direct graph at one input size → the program `kernels.c` runs: each operator's shapes, one
 * workspace for every intermediate tensor (tensors whose lives do not overlap share bytes,
 * placed first-fit), and the instructions. Concatenated tensors are made in place inside the
 * concatenation's tensor, so a Concat costs nothing. Programs are made once per input size.
 *
 * @module
 */
import type { DirectGraph, DirectOp } from "./graph.ts";

/** Operator codes and instruction fields, as `kernels.c` numbers them. */
export const OP = {
  pack: 1,
  unpack: 2,
  conv3: 3,
  conv1: 4,
  maxpool2: 5,
  convt2: 6,
  relu: 7,
  sigmoid: 8,
} as const;
/** int32 fields of one instruction (`FIELDS` in kernels.c). */
export const FIELDS = 12;

/** One input size's program. */
export interface DirectProgram {
  /** instructions, FIELDS int32 each */
  code: Int32Array;
  count: number;
  /** floats of workspace the program needs */
  workFloats: number;
  /** the input's [C, H, W] (one image) */
  input: [number, number, number];
  /** the output's [C, H, W] */
  output: [number, number, number];
}

interface Shape {
  c: number;
  h: number;
  w: number;
}

/** Row length (floats) of a padded tensor of width `w`: see the layout in kernels.c. */
export function paddedRow(w: number): number {
  const up = (v: number, m: number) => Math.ceil(v / m) * m;
  return up(up(w, 32) + 2, 16);
}

const floatsOf = (s: Shape) => s.c * (s.h + 2) * paddedRow(s.w);

/**
 * The program for an input of `h` × `w`.
 * @throws {Error} when the graph's tensors do not fit together at that size (a Concat of
 *   different sizes, a pooling of a 1-pixel tensor)
 */
export function directProgram(graph: DirectGraph, h: number, w: number): DirectProgram {
  const shapes = new Map<string, Shape>([[graph.inputName, { c: graph.inputChannels, h, w }]]);
  for (const op of graph.ops) shapes.set(op.output, outputShape(op, shapes));
  const out = shapes.get(graph.outputValue)!;

  // where each tensor lives: its own buffer, or a slice of a concatenation's
  const buffers: { floats: number; from: number; to: number; at: number }[] = [];
  const home = new Map<string, { buffer: number; offset: number }>();
  const own = (name: string) => {
    if (home.has(name)) return;
    buffers.push({ floats: floatsOf(shapes.get(name)!), from: Infinity, to: -1, at: 0 });
    home.set(name, { buffer: buffers.length - 1, offset: 0 });
  };
  for (const op of [...graph.ops].reverse()) {
    if (op.kind !== "concat") continue;
    own(op.output);
    const { buffer, offset } = home.get(op.output)!;
    let slice = offset;
    for (const part of op.inputs) {
      home.set(part, { buffer, offset: slice });
      slice += floatsOf(shapes.get(part)!);
    }
  }
  own(graph.inputName);
  for (const op of graph.ops) own(op.output);

  // lives, in instruction steps: 0 packs the input, 1.. the operators, the last unpacks
  const steps = graph.ops.length + 2;
  const touch = (name: string, step: number) => {
    const b = buffers[home.get(name)!.buffer];
    b.from = Math.min(b.from, step);
    b.to = Math.max(b.to, step);
  };
  touch(graph.inputName, 0);
  graph.ops.forEach((op, i) => {
    for (const name of op.kind === "concat" ? op.inputs : [op.input]) touch(name, i + 1);
    touch(op.output, i + 1);
  });
  touch(graph.outputValue, steps - 1);
  const workFloats = place(buffers) + 64;
  // offsets are int32 in the program
  if (workFloats > 2 ** 31 - 1) {
    throw new RangeError(`a ${h}×${w} input needs ${workFloats} floats of workspace, past 2³¹`);
  }

  const at = (name: string) => {
    const { buffer, offset } = home.get(name)!;
    return buffers[buffer].at + offset;
  };
  const code = new Int32Array(steps * FIELDS);
  let count = 0;
  const emit = (fields: number[]) => {
    code.set(fields, count * FIELDS);
    count++;
  };
  const input = shapes.get(graph.inputName)!;
  emit([OP.pack, 0, at(graph.inputName), input.c, 0, h, w, 0, paddedRow(w), 0, 0, 0]);
  for (const op of graph.ops) {
    if (op.kind === "concat") continue;
    const s = shapes.get(op.input)!;
    const o = shapes.get(op.output)!;
    const conv = op.kind === "conv3" || op.kind === "conv1" || op.kind === "convt2";
    emit([
      OP[op.kind],
      at(op.input),
      at(op.output),
      s.c,
      o.c,
      s.h,
      s.w,
      paddedRow(s.w),
      paddedRow(o.w),
      conv ? op.weights : 0,
      conv ? op.bias : 0,
      conv && op.relu ? 1 : 0,
    ]);
  }
  emit([OP.unpack, at(graph.outputValue), 0, out.c, 0, out.h, out.w, paddedRow(out.w), 0, 0, 0, 0]);
  return { code, count, workFloats, input: [input.c, h, w], output: [out.c, out.h, out.w] };
}

function outputShape(op: DirectOp, shapes: Map<string, Shape>): Shape {
  if (op.kind === "concat") {
    const parts = op.inputs.map((p) => shapes.get(p)!);
    if (parts.some((p) => p.h !== parts[0].h || p.w !== parts[0].w)) {
      throw new Error(
        `Concat of tensors of different sizes (${parts.map((p) => `${p.h}×${p.w}`).join(", ")})`,
      );
    }
    return { c: parts.reduce((s, p) => s + p.c, 0), h: parts[0].h, w: parts[0].w };
  }
  const s = shapes.get(op.input)!;
  switch (op.kind) {
    case "conv3":
    case "conv1":
      return { c: op.cout, h: s.h, w: s.w };
    case "convt2":
      return { c: op.cout, h: 2 * s.h, w: 2 * s.w };
    case "maxpool2":
      if (s.h < 2 || s.w < 2) throw new Error(`max pooling a ${s.h}×${s.w} tensor`);
      return { c: s.c, h: Math.floor(s.h / 2), w: Math.floor(s.w / 2) };
    default:
      return s;
  }
}

/**
 * Places buffers first-fit in order of their first step, so buffers alive at the same step
 * never overlap. Offsets are multiples of 16 floats. Returns the floats needed.
 */
function place(buffers: { floats: number; from: number; to: number; at: number }[]): number {
  const order = [...buffers].sort((a, b) => a.from - b.from);
  const placed: typeof buffers = [];
  let end = 0;
  for (const b of order) {
    const size = Math.ceil(b.floats / 16) * 16;
    const live = placed.filter((p) => p.to >= b.from && p.from <= b.to).sort((x, y) => x.at - y.at);
    let at = 0;
    for (const p of live) {
      if (at + size <= p.at) break;
      at = Math.max(at, Math.ceil((p.at + p.floats) / 16) * 16);
    }
    b.at = at;
    placed.push(b);
    end = Math.max(end, at + size);
  }
  return end;
}
