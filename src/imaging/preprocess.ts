/**
 * Image → model input, as the model card says: channel conversion, resize (dynamic models
 * with `resize.long_side`) or letterbox (fixed-size models), normalisation, and centred
 * zero padding (in normalised space) to the model's multiple or fixed size.
 * The returned geometry lets postprocessing undo every step.
 *
 * @module
 */
import { takeTensor } from "../memory/tensor_pool.ts";
import type { Tensor } from "../engines/engine.ts";
import type { InputSpec } from "../models/card.ts";
import type { DecodedImage } from "./image.ts";
import { resizePlane, resizeSamples } from "./resize.ts";

/** Where the image sits inside the model input. */
export interface Geometry {
  /** original image size */
  width: number;
  height: number;
  /** size after resizing, before padding */
  scaledWidth: number;
  scaledHeight: number;
  /** model input size */
  inputWidth: number;
  inputHeight: number;
  /** padding before the image (top, left) */
  padTop: number;
  padLeft: number;
}

/** ITU-R BT.601 luma weights (as PIL's `convert("L")`). */
const LUMA = [0.299, 0.587, 0.114];

/** Splits an image into `channels` planes of floats in [0, 1]. */
export function toPlanes(image: DecodedImage, channels: 1 | 3): Float32Array[] {
  const n = image.width * image.height;
  const d = image.data;
  const inv = 1 / image.maxValue;
  const planes = Array.from({ length: channels }, () => new Float32Array(n));
  if (image.channels === channels) {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < channels; c++) planes[c][i] = d[i * channels + c] * inv;
    }
  } else if (channels === 1) {
    const p = planes[0];
    for (let i = 0; i < n; i++) {
      p[i] = (LUMA[0] * d[3 * i] + LUMA[1] * d[3 * i + 1] + LUMA[2] * d[3 * i + 2]) * inv;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = d[i] * inv;
      planes[0][i] = planes[1][i] = planes[2][i] = v;
    }
  }
  return planes;
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/** Decides the resize and padding for an image of `width × height`. */
export function planGeometry(width: number, height: number, spec: InputSpec): Geometry {
  let scaledWidth = width, scaledHeight = height, inputWidth: number, inputHeight: number;
  if (spec.height !== null && spec.width !== null) {
    const s = Math.min(spec.width / width, spec.height / height);
    scaledWidth = Math.min(spec.width, Math.max(1, Math.round(width * s)));
    scaledHeight = Math.min(spec.height, Math.max(1, Math.round(height * s)));
    inputWidth = spec.width;
    inputHeight = spec.height;
  } else {
    const longSide = spec.resize?.long_side;
    if (longSide && Math.max(width, height) !== longSide) {
      const s = longSide / Math.max(width, height);
      scaledWidth = Math.max(1, Math.round(width * s));
      scaledHeight = Math.max(1, Math.round(height * s));
    }
    inputWidth = roundUp(scaledWidth, spec.pad_multiple);
    inputHeight = roundUp(scaledHeight, spec.pad_multiple);
  }
  return {
    width,
    height,
    scaledWidth,
    scaledHeight,
    inputWidth,
    inputHeight,
    padTop: Math.floor((inputHeight - scaledHeight) / 2),
    padLeft: Math.floor((inputWidth - scaledWidth) / 2),
  };
}

/**
 * Builds the model's input tensor for an image.
 * @returns the NCHW float32 tensor and the geometry to undo it
 */
export function preprocess(
  image: DecodedImage,
  spec: InputSpec,
): { tensor: Tensor; geometry: Geometry } {
  const g = planGeometry(image.width, image.height, spec);
  const fused = fusedPreprocess(image, spec, g);
  if (fused) return { tensor: fused, geometry: g };
  return { tensor: planarPreprocess(image, spec, g), geometry: g };
}

/**
 * The general path: antialiased resize per channel from the samples, normalise, pad (any
 * depth, channel conversion and size). Exported for the codec micro-benchmark.
 */
export function planarPreprocess(image: DecodedImage, spec: InputSpec, g: Geometry): Tensor {
  const plane = g.inputWidth * g.inputHeight;
  const data = new Float32Array(spec.channels * plane); // zero = padding
  // Channels are resized straight from the samples, one at a time (a 16 Mpx image is never
  // copied into float planes); only RGB → grey needs one full-size plane (the luma).
  const scale = 1 / image.maxValue;
  const luma = spec.channels === 1 && image.channels === 3 ? toPlanes(image, 1)[0] : undefined;
  let shared: Float32Array | undefined;
  for (let c = 0; c < spec.channels; c++) {
    const src = luma
      ? resizePlane(luma, g.width, g.height, g.scaledWidth, g.scaledHeight)
      : image.channels === spec.channels
      ? resizeSamples(
        image.data,
        image.channels,
        c,
        scale,
        g.width,
        g.height,
        g.scaledWidth,
        g.scaledHeight,
      )
      : (shared ??= resizeSamples(
        image.data,
        1,
        0,
        scale,
        g.width,
        g.height,
        g.scaledWidth,
        g.scaledHeight,
      ));
    const mean = spec.mean[c], inv = 1 / spec.std[c];
    const base = c * plane;
    for (let y = 0; y < g.scaledHeight; y++) {
      const dst = base + (y + g.padTop) * g.inputWidth + g.padLeft;
      const row = y * g.scaledWidth;
      for (let x = 0; x < g.scaledWidth; x++) data[dst + x] = (src[row + x] - mean) * inv;
    }
  }
  return { data, dims: [1, spec.channels, g.inputHeight, g.inputWidth] };
}

/** Per-channel lookup tables byte → normalised value, by mean/std (a card has one or two). */
const lutCache = new Map<string, Float32Array>();

/**
 * The value the general path computes for byte `v`: `fround(v/255)`, then `(x − mean)/std`
 * (the same float32 roundings, so both paths give bit-identical tensors).
 */
function channelLut(mean: number, std: number): Float32Array {
  const key = `${mean}/${std}`;
  let lut = lutCache.get(key);
  if (!lut) {
    lut = new Float32Array(256);
    const inv = 1 / 255, invStd = 1 / std;
    for (let v = 0; v < 256; v++) lut[v] = (Math.fround(v * inv) - mean) * invStd;
    if (lutCache.size > 64) lutCache.clear();
    lutCache.set(key, lut);
  }
  return lut;
}

/**
 * The common case in one pass: 8-bit samples with the model's channel count and no resize
 * (an image already at the model's working size), written through a lookup table straight
 * into the padded NCHW tensor. Returns undefined for anything else (the general path).
 */
function fusedPreprocess(image: DecodedImage, spec: InputSpec, g: Geometry): Tensor | undefined {
  const d = image.data;
  if (
    !(d instanceof Uint8Array) || image.maxValue !== 255 || image.channels !== spec.channels ||
    g.scaledWidth !== g.width || g.scaledHeight !== g.height
  ) return undefined;
  const C = spec.channels, w = g.width, h = g.height, plane = g.inputWidth * g.inputHeight;
  const data = takeTensor(C * plane); // zero = padding
  const first = g.padTop * g.inputWidth + g.padLeft;
  if (C === 3) {
    // one pass over the interleaved samples, three planes written side by side
    const l0 = channelLut(spec.mean[0], spec.std[0]);
    const l1 = channelLut(spec.mean[1], spec.std[1]);
    const l2 = channelLut(spec.mean[2], spec.std[2]);
    for (let y = 0; y < h; y++) {
      const o0 = first + y * g.inputWidth, o1 = o0 + plane, o2 = o1 + plane;
      let src = y * w * 3;
      for (let x = 0; x < w; x++, src += 3) {
        data[o0 + x] = l0[d[src]];
        data[o1 + x] = l1[d[src + 1]];
        data[o2 + x] = l2[d[src + 2]];
      }
    }
    return { data, dims: [1, C, g.inputHeight, g.inputWidth] };
  }
  for (let c = 0; c < C; c++) {
    const lut = channelLut(spec.mean[c], spec.std[c]);
    const base = c * plane + g.padTop * g.inputWidth + g.padLeft;
    for (let y = 0; y < h; y++) {
      const dst = base + y * g.inputWidth;
      let src = y * w * C + c;
      for (let x = 0; x < w; x++, src += C) data[dst + x] = lut[d[src]];
    }
  }
  return { data, dims: [1, C, g.inputHeight, g.inputWidth] };
}
