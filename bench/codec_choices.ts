/**
 * `deno run -A bench/codec_choices.ts [runs]`: the CPU work of one PNG request besides the
 * engine (decode, preprocess, postprocess, largest region, mask PNG), stage by stage as the
 * server runs them, and each choice measured side by side on the same image, interleaved
 * round by round so background load hits all alike. Prints one JSON line (medians and p90
 * in ms) and checks that the fast paths give the same tensor and mask as the general ones,
 * and that every PNG decodes back to the same mask. Run by `deno task bench` (standalone
 * scripts; the report's section "Codec stages" and the target "codec stages ≤ 1.2 ms").
 *
 * The model output is the shipped isic2017 student's real output on the image (one
 * onnxruntime-node run), so the threshold and the largest-region clean-up see a real mask.
 *
 * Choices: PNG row unfiltering with the textbook Paeth predictor (branches) vs the
 * branch-free one the decoder uses; the same image as a JPEG decoded by jpeg-js (before) vs
 * libjpeg-turbo (served); preprocess general (float planes, resize, normalise) vs
 * fused (lookup table straight into the padded tensor); postprocess general (sigmoid per
 * pixel, resize back, threshold) vs unresized (compare logits with logit(threshold)); mask
 * PNG with fast-png (pako, level 6-like defaults) vs this repo's writer with filter None/Up
 * and zlib level 0/1/6.
 *
 * @module
 */
import { decode as decodePngLib, encode as encodePngLib } from "fast-png";
import jpeg from "jpeg-js";
import * as ort from "onnxruntime-node";
import { inflateSync } from "node:zlib";
import { decodeImage } from "../src/imaging/decode.ts";
import { unfilterPaeth } from "../src/imaging/decode_png.ts";
import { keepLargestComponent } from "../src/imaging/largest_component.ts";
import { resampled, unresized } from "../src/imaging/postprocess.ts";
import { planarPreprocess, planGeometry, preprocess } from "../src/imaging/preprocess.ts";
import { parseCard } from "../src/models/card.ts";
import { encodeMaskPng, maskPng } from "../src/outputs/mask_png.ts";
import { finish, prepare, toSegmentation } from "../src/serving/stages.ts";
import { shippedModelUrl, shippedVersion } from "../lib/shipped_models.ts";

const ROOT = new URL("../", import.meta.url);
const MODEL_DIR = shippedModelUrl("isic2017");
const IMAGE = "tests/fixtures/images/isic_ISIC_0000011.png";
/** the same image as a JPEG (PIL, quality 90), for the JPEG decoder choices */
const JPEG_IMAGE = "tests/fixtures/images/isic_ISIC_0000011_q90.jpg";
const runs = Number(Deno.args[0] ?? 300);
const body = await Deno.readFile(new URL(IMAGE, ROOT));
const jpegBody = await Deno.readFile(new URL(JPEG_IMAGE, ROOT));
const card = parseCard(
  JSON.parse(await Deno.readTextFile(new URL("model.json", MODEL_DIR))),
  `models/isic2017/${shippedVersion("isic2017")}/model.json`,
);
const limits = { maxPixels: 1 << 24 };
const image = await decodeImage(body, "image/png", limits);
const g = planGeometry(image.width, image.height, card.input);
const { tensor } = preprocess(image, card.input);

// the real model output on this image (one run)
const session = await ort.InferenceSession.create(
  new URL("model.onnx", MODEL_DIR).pathname,
  { intraOpNumThreads: 1 },
);
const run = await session.run({
  [card.input.name]: new ort.Tensor("float32", tensor.data as Float32Array, tensor.dims),
});
const out = run[card.output.name];
const output = { data: out.data as Float32Array, dims: [...out.dims] };
await session.release();
const segInput = {
  output,
  geometry: g,
  kind: card.output.kind,
  threshold: card.threshold,
  largestComponent: card.postprocess.largest_component,
};
const mask = unresized(output, g, "logits", card.threshold).mask;
/** the mask the server encodes (thresholded, largest region kept) */
const cleaned = toSegmentation(segInput, false);

// the inflated, still filtered rows of the sample, for the unfilter choices
const idat = (() => {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const parts: Uint8Array[] = [];
  for (let i = 8; i < body.length;) {
    const n = v.getUint32(i), type = String.fromCharCode(...body.subarray(i + 4, i + 8));
    if (type === "IDAT") parts.push(body.subarray(i + 8, i + 8 + n));
    i += 12 + n;
  }
  const idat = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((o, p) => (idat.set(p, o), o + p.length), 0);
  return idat;
})();
/** a plain Uint8Array (a Buffer's `slice` would share its bytes, not copy them) */
const filtered = new Uint8Array(inflateSync(idat));
const rowBytes = image.width * image.channels, bpp = image.channels;

/** The Paeth predictor as the PNG specification writes it (what the decoder did before). */
function paethTextbook(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Unfilters the sample's Sub and Paeth rows (the two filters it uses) into a scratch copy. */
function unfilterAll(paeth: "textbook" | "branch-free"): Uint8Array {
  const raw = filtered.slice();
  let prev = new Uint8Array(rowBytes);
  for (let y = 0; y < image.height; y++) {
    const o = y * (rowBytes + 1), f = raw[o];
    const row = raw.subarray(o + 1, o + 1 + rowBytes);
    if (f === 1) { for (let i = bpp; i < rowBytes; i++) row[i] = row[i] + row[i - bpp]; }
    else if (f === 4) {
      for (let i = 0; i < bpp; i++) row[i] = row[i] + prev[i];
      if (paeth === "branch-free") unfilterPaeth(row, prev, bpp, rowBytes);
      else {
        for (let i = bpp; i < rowBytes; i++) {
          row[i] = row[i] + paethTextbook(row[i - bpp], prev[i], prev[i - bpp]);
        }
      }
    } else if (f !== 0) throw new Error(`the sample uses filter ${f}; extend this benchmark`);
    prev = row;
  }
  return raw;
}

/** The stages as `prepare` and `finish` (src/serving/stages.ts) run them for a PNG answer. */
const STAGES = {
  decode: () => decodeImage(body, "image/png", limits),
  preprocess: () => preprocess(image, card.input),
  postprocess: () => toSegmentation({ ...segInput, largestComponent: false }, false),
  largest_region: () => keepLargestComponent(mask.slice(), g.width, g.height, true),
  encode: () => maskPng(cleaned),
} as const;

const choices: Record<string, () => unknown> = {
  "unfilter, textbook Paeth (before)": () => unfilterAll("textbook"),
  "unfilter, branch-free Paeth (served)": () => unfilterAll("branch-free"),
  "inflate (node:zlib, capped)": () =>
    inflateSync(idat, { maxOutputLength: filtered.length, chunkSize: filtered.length + 1 }),
  "JPEG decode, jpeg-js (before)": () =>
    jpeg.decode(jpegBody, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false }),
  "JPEG decode, libjpeg-turbo WASM (served)": () => decodeImage(jpegBody, "image/jpeg", limits),
  "preprocess general": () => planarPreprocess(image, card.input, g),
  "preprocess fused (served)": () => preprocess(image, card.input),
  "postprocess general": () => resampled(output, g, "logits", card.threshold).mask,
  "postprocess unresized (served)": () => unresized(output, g, "logits", card.threshold).mask,
  "mask png fast-png": () => {
    const d = new Uint8Array(mask.length);
    for (let i = 0; i < d.length; i++) d[i] = mask[i] ? 255 : 0;
    return encodePngLib({ width: g.width, height: g.height, data: d, channels: 1, depth: 8 });
  },
  "mask png filter None, zlib 0 (stored)": () =>
    encodeMaskPng(mask, g.width, g.height, { filter: 0, level: 0 }),
  "mask png filter None, zlib 1 (served)": () =>
    encodeMaskPng(mask, g.width, g.height, { filter: 0, level: 1 }),
  "mask png filter Up, zlib 1": () =>
    encodeMaskPng(mask, g.width, g.height, { filter: 2, level: 1 }),
  "mask png filter Up, zlib 6": () =>
    encodeMaskPng(mask, g.width, g.height, { filter: 2, level: 6 }),
};

/** The served functions end to end (what the HTTP thread runs for this inline image). */
const pipeline = async () => {
  const p = await prepare({
    bytes: body,
    mediaType: "image/png",
    decode: limits,
    input: card.input,
    keepPixels: false,
  });
  return finish({ ...segInput, geometry: p.geometry, format: "png", image: p.image });
};

// correctness first: same tensor, same mask, PNGs decode to the mask
const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
const served = await pipeline();
const checks = {
  unfilter_choices_identical: same(unfilterAll("textbook"), unfilterAll("branch-free")),
  fused_tensor_identical: same(
    preprocess(image, card.input).tensor.data,
    planarPreprocess(image, card.input, g).data,
  ),
  unresized_mask_identical: same(mask, resampled(output, g, "logits", card.threshold).mask),
  pngs_decode_to_mask: Object.entries(choices).filter(([k]) => k.startsWith("mask png")).every(
    ([, fn]) => {
      const png = decodePngLib(fn() as Uint8Array);
      return png.depth === 8 && png.channels === 1 &&
        same(png.data as Uint8Array, Array.from(mask, (v) => (v ? 255 : 0)));
    },
  ),
  served_png_is_the_cleaned_mask: same(
    decodePngLib(served.png!).data as Uint8Array,
    Array.from(toSegmentation(segInput, false).mask, (v) => (v ? 255 : 0)),
  ),
};
const bytes = Object.fromEntries(
  Object.entries(choices).filter(([k]) => k.startsWith("mask png")).map((
    [k, fn],
  ) => [k, (fn() as Uint8Array).length]),
);

const all: Record<string, () => unknown> = {
  ...Object.fromEntries(Object.entries(STAGES).map(([k, fn]) => [`stage ${k}`, fn])),
  ...choices,
  "served prepare + finish": pipeline,
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(all).map((k) => [k, []]));
for (let r = 0; r < runs + 20; r++) {
  for (const [k, fn] of Object.entries(all)) {
    const t = performance.now();
    await fn();
    if (r >= 20) times[k].push(performance.now() - t);
  }
}
const q = (a: number[], p: number) => {
  const s = [...a].sort((x, y) => x - y);
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 1000) / 1000;
};
const stats = Object.fromEntries(
  Object.entries(times).map(([k, v]) => [k, { median_ms: q(v, 0.5), p90_ms: q(v, 0.9) }]),
);
const sum = (ks: string[]) =>
  Math.round(ks.reduce((a, k) => a + stats[k].median_ms, 0) * 1000) / 1000;
const stageKeys = Object.keys(STAGES).map((k) => `stage ${k}`);
console.log(JSON.stringify({
  benchmark: "codec_choices",
  image: IMAGE,
  size: [image.width, image.height],
  model: `isic2017/${shippedVersion("isic2017")} (largest region on)`,
  runs,
  checks,
  png_bytes: bytes,
  stats,
  /** Σ medians of the served stages: decode + preprocess + postprocess + largest region + encode */
  stages_total_median_ms: sum(stageKeys),
  /** the served `prepare` + `finish` timed as one (the HTTP thread's codec work for this image) */
  served_pipeline_median_ms: stats["served prepare + finish"].median_ms,
  served_pipeline_p90_ms: stats["served prepare + finish"].p90_ms,
}));
