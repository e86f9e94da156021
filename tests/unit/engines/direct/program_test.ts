/**
 * The direct engine's programs: every tensor gets its own bytes while it lives (checked
 * against the instructions themselves), tensors that do not live together share, and a
 * Concat's inputs are made inside it.
 */
import assert from "node:assert/strict";
import { unetModel } from "../../../../lib/onnx_builder.ts";
import { directGraph } from "../../../../src/engines/direct/graph.ts";
import { directProgram, FIELDS, OP, paddedRow } from "../../../../src/engines/direct/program.ts";

interface Span {
  from: number;
  to: number;
}

/** What each instruction reads and writes, as float ranges of the workspace. */
function spans(code: Int32Array, count: number) {
  const steps: { reads: Span[]; writes: Span[] }[] = [];
  for (let i = 0; i < count; i++) {
    const [op, input, output, cin, cout, h, w, wpi, wpo] = code.subarray(
      i * FIELDS,
      (i + 1) * FIELDS,
    );
    const size = (c: number, hh: number, ww: number) => c * (hh + 2) * paddedRow(ww);
    const outShape = op === OP.maxpool2
      ? [cin, h >> 1, w >> 1]
      : op === OP.convt2
      ? [cout, 2 * h, 2 * w]
      : op === OP.conv3 || op === OP.conv1
      ? [cout, h, w]
      : [cin, h, w];
    assert.equal(wpi === 0 ? 0 : paddedRow(w), wpi);
    const reads = op === OP.pack
      ? []
      : [{ from: input, to: input + size(cin, h, w) * (wpi ? 1 : 0) }];
    const writes = op === OP.unpack
      ? []
      : [{ from: output, to: output + size(outShape[0], outShape[1], outShape[2]) }];
    if (op !== OP.unpack) assert.equal(wpo, paddedRow(outShape[2]));
    steps.push({ reads, writes });
  }
  return steps;
}

Deno.test("directProgram: every instruction reads what the instructions it depends on wrote", () => {
  const graph = directGraph(unetModel({ width: 4, depth: 3 }));
  for (const [h, w] of [[64, 64], [48, 80], [200, 136]]) {
    const p = directProgram(graph, h, w);
    const steps = spans(p.code, p.count);
    // which instructions make each value: the pack, an operator, or a concatenation's parts
    const makers = new Map<string, number[]>([[graph.inputName, [0]]]);
    const readsOf: string[] = [""];
    let step = 1;
    for (const op of graph.ops) {
      if (op.kind === "concat") {
        makers.set(op.output, op.inputs.flatMap((name) => makers.get(name)!));
        continue;
      }
      readsOf.push(op.input);
      makers.set(op.output, [step++]);
    }
    readsOf.push(graph.outputValue);
    assert.equal(step + 1, p.count);
    // replay the writes: each float remembers the last instruction that wrote it
    const owner = new Int32Array(p.workFloats).fill(-1);
    steps.forEach((s, i) => {
      for (const r of s.reads) {
        const expected = new Set(makers.get(readsOf[i])!);
        for (let x = r.from; x < r.to; x++) {
          assert.ok(
            expected.has(owner[x]),
            `step ${i} reads float ${x} last written by step ${owner[x]} (${h}×${w})`,
          );
        }
      }
      for (const wr of s.writes) owner.fill(i, wr.from, wr.to);
    });
    assert.ok(steps.every((s) => s.writes.every((w) => w.to <= p.workFloats)));
    // shared bytes: less than every tensor apart
    const total = steps.reduce(
      (sum, s) => sum + s.writes.reduce((a, w) => a + w.to - w.from, 0),
      0,
    );
    assert.ok(p.workFloats < total * 0.7, `${p.workFloats} of ${total}`);
    assert.deepEqual(p.output, [1, h, w]);
  }
});

Deno.test("directProgram makes a Concat's inputs side by side inside it (no instruction for it)", () => {
  const graph = directGraph(unetModel({ width: 4, depth: 1 }));
  const p = directProgram(graph, 32, 32);
  const ops = Array.from({ length: p.count }, (_, i) => p.code[i * FIELDS]);
  assert.ok(!ops.includes(0));
  // the up-convolution's output and the first block's output are adjacent: the conv after
  // the concat reads 8 channels starting where the up-convolution wrote
  const convt = p.code.subarray(ops.indexOf(OP.convt2) * FIELDS);
  const after = p.code.subarray((ops.indexOf(OP.convt2) + 1) * FIELDS);
  assert.equal(after[1], convt[2]);
  assert.equal(after[3], 8);
});

Deno.test("directProgram refuses sizes its graph cannot take", () => {
  const graph = directGraph(unetModel({ width: 4, depth: 2 }));
  assert.throws(() => directProgram(graph, 30, 32), /Concat of tensors of different sizes/);
});
