import assert from "node:assert/strict";
import { parseEvaluateArgs, UsageError } from "../../../../tools/evaluate/args.ts";

Deno.test("evaluate arguments: defaults and flags", () => {
  const a = parseEvaluateArgs(["--", "--model", "models/x/1", "--data", "d"])!;
  assert.deepEqual([a.split, a.engine, a.writeCard, a.precision, a.csv], [
    "test",
    "native",
    false,
    undefined,
    undefined,
  ]);
  const b = parseEvaluateArgs([
    "--model",
    "m",
    "--data",
    "d",
    "--split",
    "val",
    "--engine",
    "wasm",
    "--precision",
    "int8",
    "--csv",
    "o.csv",
    "--write-card",
  ])!;
  assert.deepEqual([b.split, b.engine, b.precision, b.csv, b.writeCard], [
    "val",
    "wasm",
    "int8",
    "o.csv",
    true,
  ]);
  assert.equal(parseEvaluateArgs(["-h"]), null);
});

Deno.test("evaluate arguments: mistakes are usage errors", () => {
  const bad: [string[], RegExp][] = [
    [["--data", "d"], /--model/],
    [["--model", "m"], /--data/],
    [["--model", "m", "--data", "d", "--split", "dev"], /--split/],
    [["--model", "m", "--data", "d", "--engine", "cuda"], /unknown engine/],
    [["--model", "m", "--data", "d", "--precision", "fp16"], /--precision/],
    [["--model", "m", "--data", "d", "--threads", "x"], /--threads/],
    [["--model", "m", "--data", "d", "--nope"], /nope/],
  ];
  for (const [argv, message] of bad) {
    assert.throws(
      () => parseEvaluateArgs(argv),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      argv.join(" "),
    );
  }
});

Deno.test("--choose-postprocess works on val (its default) and refuses any other split", () => {
  const a = parseEvaluateArgs(["--model", "m", "--data", "d", "--choose-postprocess"])!;
  assert.deepEqual([a.choosePostprocess, a.split], [true, "val"]);
  assert.throws(
    () =>
      parseEvaluateArgs(["--model", "m", "--data", "d", "--choose-postprocess", "--split", "test"]),
    (e: unknown) => e instanceof UsageError && /val split only/.test(e.message),
  );
});
