/**
 * Writes `models/placeholder/1`: an UNTRAINED TinyUnet (width 4, random weights) with its
 * card, so the server has something to load before trained students exist.
 * Usage: `deno run -A tools/make_placeholder.ts [out-dir]`
 *
 * @module
 */
import { join } from "node:path";
import { unetModel } from "../src/onnx/builder.ts";

const dir = Deno.args[0] ?? new URL("../models/placeholder/1", import.meta.url).pathname;
await Deno.mkdir(dir, { recursive: true });
await Deno.writeFile(join(dir, "model.onnx"), unetModel({ width: 4, channels: 3, seed: 2022 }));
const card = {
  schema: 1,
  name: "placeholder",
  version: "1",
  title: "UNTRAINED placeholder TinyUnet (random weights) — not for any use",
  task: "binary-segmentation",
  label: "nothing (untrained)",
  trained: false,
  input: {
    name: "image",
    layout: "NCHW",
    channels: 3,
    height: null,
    width: null,
    resize: { long_side: 256 },
    pad_multiple: 16,
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
  },
  output: { name: "logits", kind: "logits" },
  threshold: 0.5,
  files: { fp32: "model.onnx" },
  precision: "fp32",
  provenance: { generated_by: "tools/make_placeholder.ts", note: "random weights; its masks mean nothing" },
};
await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(card, null, 2) + "\n");
console.log(`wrote ${dir}`);
