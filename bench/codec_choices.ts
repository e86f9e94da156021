/**
 * `deno run -A bench/codec_choices.ts [runs]`: the main-thread work of one PNG request
 * (decode, preprocess, postprocess, largest region, mask PNG), each choice measured side by
 * side on the same image, interleaved round by round so background load hits all alike.
 * Prints one JSON line (medians and p90 in ms, per choice) and checks that the fast paths
 * give the same tensor and mask as the general ones, and that every PNG decodes back to the
 * same mask.
 *
 * Choices: preprocess general (float planes, resize, normalise) vs fused (lookup table
 * straight into the padded tensor); postprocess general (sigmoid per pixel, resize back,
 * threshold) vs unresized (compare logits with logit(threshold)); mask PNG with fast-png
 * (pako, level 6-like defaults) vs this repo's writer with filter None/Up and zlib level
 * 0/1/6. Run by `deno task bench` (standalone scripts).
 *
 * @module
 */
import { decode as decodePngLib, encode as encodePngLib } from "fast-png";
import { decodeImage } from "../src/imaging/decode.ts";
import { keepLargestComponent } from "../src/imaging/largest_component.ts";
import { resampled, unresized } from "../src/imaging/postprocess.ts";
import { planarPreprocess, planGeometry, preprocess } from "../src/imaging/preprocess.ts";
import { parseCard } from "../src/models/card.ts";
import { encodeMaskPng } from "../src/outputs/mask_png.ts";

const ROOT = new URL("../", import.meta.url);
const IMAGE = "tests/fixtures/images/isic_ISIC_0000011.png";
const runs = Number(Deno.args[0] ?? 200);
const body = await Deno.readFile(new URL(IMAGE, ROOT));
const card = parseCard(
  JSON.parse(await Deno.readTextFile(new URL("models/isic2017/2/model.json", ROOT))),
  "models/isic2017/2/model.json",
);
const image = await decodeImage(body, "image/png", { maxPixels: 1 << 24 });
const g = planGeometry(image.width, image.height, card.input);

// a plausible logit map: a disc of foreground on the letterboxed input
const logits = new Float32Array(g.inputWidth * g.inputHeight);
for (let y = 0; y < g.inputHeight; y++) {
  for (let x = 0; x < g.inputWidth; x++) {
    const r = Math.hypot(x - g.inputWidth / 2, y - g.inputHeight / 2);
    logits[y * g.inputWidth + x] = (60 - r) / 10 + Math.sin(x * 0.7 + y * 1.3);
  }
}
const output = { data: logits, dims: [1, 1, g.inputHeight, g.inputWidth] };
const mask = unresized(output, g, "logits", card.threshold).mask;

const choices: Record<string, () => unknown> = {
  "decode (as served: node:zlib inflate)": () =>
    decodeImage(body, "image/png", { maxPixels: 1 << 24 }),
  "preprocess general": () => planarPreprocess(image, card.input, g),
  "preprocess fused (served)": () => preprocess(image, card.input),
  "postprocess general": () => resampled(output, g, "logits", card.threshold).mask,
  "postprocess unresized (served)": () => unresized(output, g, "logits", card.threshold).mask,
  "largest region": () => keepLargestComponent(mask, g.width, g.height),
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

// correctness first: same tensor, same mask, PNGs decode to the mask
const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
const checks = {
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
};
const bytes = Object.fromEntries(
  Object.entries(choices).filter(([k]) => k.startsWith("mask png")).map((
    [k, fn],
  ) => [k, (fn() as Uint8Array).length]),
);

const times: Record<string, number[]> = Object.fromEntries(
  Object.keys(choices).map((k) => [k, []]),
);
for (let r = 0; r < runs + 10; r++) {
  for (const [k, fn] of Object.entries(choices)) {
    const t = performance.now();
    await fn();
    if (r >= 10) times[k].push(performance.now() - t);
  }
}
const q = (a: number[], p: number) => {
  const s = [...a].sort((x, y) => x - y);
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 1000) / 1000;
};
const stats = Object.fromEntries(
  Object.entries(times).map(([k, v]) => [k, { median_ms: q(v, 0.5), p90_ms: q(v, 0.9) }]),
);
const served = [
  "decode (as served: node:zlib inflate)",
  "preprocess fused (served)",
  "postprocess unresized (served)",
  "mask png filter None, zlib 1 (served)",
];
const before = [
  "decode (as served: node:zlib inflate)",
  "preprocess general",
  "postprocess general",
  "mask png fast-png",
];
const sum = (ks: string[]) =>
  Math.round(ks.reduce((a, k) => a + stats[k].median_ms, 0) * 1000) / 1000;
console.log(JSON.stringify({
  benchmark: "codec_choices",
  image: IMAGE,
  size: [image.width, image.height],
  runs,
  checks,
  png_bytes: bytes,
  stats,
  total_served_median_ms: sum(served),
  total_general_median_ms: sum(before),
  largest_region_median_ms: stats["largest region"].median_ms,
  /** what a PNG response to isic2017 (largest-region clean-up on) costs on the CPU besides the engine */
  total_served_with_largest_region_median_ms: sum([...served, "largest region"]),
}));
