import assert from "node:assert/strict";
import { parseQuantizeArgs, UsageError } from "../../../../tools/quantize/args.ts";

Deno.test("quantize arguments: defaults and flags", () => {
  const o = parseQuantizeArgs(["--", "--model", "models/x/1", "--calib", "imgs"])!;
  assert.equal(o.modelDir, "models/x/1");
  assert.equal(o.calibFolder, "imgs");
  assert.equal(o.method, "minmax");
  assert.equal(o.perChannel, true);
  assert.equal(o.activationType, "uint8");
  assert.equal(o.setDefault, false);
  const p = parseQuantizeArgs([
    "--model",
    "m",
    "--calib",
    "c",
    "--method",
    "entropy",
    "--per-tensor",
    "--int8-activations",
    "--max-images",
    "7",
    "--min-channels",
    "8",
    "--set-default",
  ])!;
  assert.deepEqual(
    [p.method, p.perChannel, p.activationType, p.maxImages, p.minChannels, p.setDefault],
    ["entropy", false, "int8", 7, 8, true],
  );
  assert.equal(o.minChannels, 0);
  assert.equal(parseQuantizeArgs(["--help"]), null);
});

Deno.test("quantize arguments: mistakes are usage errors that say what is wrong", () => {
  const bad: [string[], RegExp][] = [
    [["--calib", "c"], /--model/],
    [["--model", "m"], /--calib/],
    [
      ["--model", "m", "--calib", "c", "--method", "kl"],
      /--method must be one of minmax, percentile, entropy/,
    ],
    [["--model", "m", "--calib", "c", "--max-images", "0"], /--max-images/],
    [["--model", "m", "--calib", "c", "--per-channel", "--per-tensor"], /exclude/],
    [["--model", "m", "--calib", "c", "--output", "../x.onnx"], /--output/],
    [["--model", "m", "--calib", "c", "--bogus"], /bogus/],
  ];
  for (const [argv, message] of bad) {
    assert.throws(
      () => parseQuantizeArgs(argv),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      argv.join(" "),
    );
  }
});
