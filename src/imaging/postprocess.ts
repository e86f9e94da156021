/**
 * Model output → mask at the original image size: crop the padding, sigmoid (for logits),
 * resize back, threshold.
 *
 * @module
 */
import type { Tensor } from "../engines/engine.ts";
import type { Geometry } from "./preprocess.ts";
import { resizePlane, resizeThreshold } from "./resize.ts";

/** A binary mask and the foreground probabilities it was cut from, at the image's size. */
export interface Segmentation {
  width: number;
  height: number;
  /** 1 = foreground, 0 = background */
  mask: Uint8Array;
  /** foreground probability per pixel */
  probability: Float32Array;
  threshold: number;
  /** clean-up steps applied to the mask after the threshold (e.g. `largest_component`) */
  postprocess: string[];
}

/**
 * Turns the model's single-channel output into a mask.
 * @param output tensor of shape [1, 1, inputHeight, inputWidth]
 * @param kind whether the output needs a sigmoid
 */
export function postprocess(
  output: Tensor,
  geometry: Geometry,
  kind: "logits" | "probabilities",
  threshold: number,
  /** false: the mask only (`probability` left empty; 4× less memory at the image's size) */
  keepProbability = true,
): Segmentation {
  const [n, c, h, w] = output.dims;
  if (
    output.dims.length !== 4 || n !== 1 || c !== 1 || h !== geometry.inputHeight ||
    w !== geometry.inputWidth
  ) {
    throw new Error(
      `model output has shape [${output.dims}], expected [1,1,${geometry.inputHeight},${geometry.inputWidth}]`,
    );
  }
  if (geometry.scaledWidth === geometry.width && geometry.scaledHeight === geometry.height) {
    return unresized(output, geometry, kind, threshold);
  }
  return resampled(output, geometry, kind, threshold, keepProbability);
}

/**
 * The general path: crop, sigmoid, resize the probabilities back to the image, threshold.
 * Exported for the codec micro-benchmark.
 */
export function resampled(
  output: Tensor,
  geometry: Geometry,
  kind: "logits" | "probabilities",
  threshold: number,
  keepProbability = true,
): Segmentation {
  const { scaledWidth: sw, scaledHeight: sh, padTop, padLeft } = geometry;
  const w = output.dims[3];
  const cropped = new Float32Array(sw * sh);
  for (let y = 0; y < sh; y++) {
    const src = (y + padTop) * w + padLeft;
    for (let x = 0; x < sw; x++) {
      const v = output.data[src + x];
      cropped[y * sw + x] = kind === "logits" ? 1 / (1 + Math.exp(-v)) : v;
    }
  }
  if (!keepProbability && (sw !== geometry.width || sh !== geometry.height)) {
    const mask = resizeThreshold(cropped, sw, sh, geometry.width, geometry.height, threshold);
    return {
      width: geometry.width,
      height: geometry.height,
      mask,
      probability: new Float32Array(0),
      threshold,
      postprocess: [],
    };
  }
  const probability = resizePlane(cropped, sw, sh, geometry.width, geometry.height);
  const mask = new Uint8Array(probability.length);
  for (let i = 0; i < mask.length; i++) mask[i] = probability[i] > threshold ? 1 : 0;
  return {
    width: geometry.width,
    height: geometry.height,
    mask,
    probability,
    threshold,
    postprocess: [],
  };
}

/**
 * No resize back (the image was at the model's working size): the mask straight from the
 * output by comparing logits with logit(threshold) (sigmoid is monotonic; for the usual 0.5
 * that is `v > 0`, exactly what `sigmoid(v) > 0.5` gives), without a sigmoid per pixel. The
 * probabilities are computed only if something reads them.
 */
export function unresized(
  output: Tensor,
  geometry: Geometry,
  kind: "logits" | "probabilities",
  threshold: number,
): Segmentation {
  const { width: sw, height: sh, padTop, padLeft } = geometry;
  const w = output.dims[3], src = output.data;
  const cut = kind === "logits" ? Math.log(threshold / (1 - threshold)) : threshold;
  const mask = new Uint8Array(sw * sh);
  for (let y = 0; y < sh; y++) {
    const row = (y + padTop) * w + padLeft, out = y * sw;
    for (let x = 0; x < sw; x++) mask[out + x] = src[row + x] > cut ? 1 : 0;
  }
  let probability: Float32Array | undefined;
  return {
    width: sw,
    height: sh,
    mask,
    get probability() {
      if (!probability) {
        probability = new Float32Array(sw * sh);
        for (let y = 0; y < sh; y++) {
          const row = (y + padTop) * w + padLeft, out = y * sw;
          for (let x = 0; x < sw; x++) {
            const v = src[row + x];
            probability[out + x] = kind === "logits" ? 1 / (1 + Math.exp(-v)) : v;
          }
        }
      }
      return probability;
    },
    threshold,
    postprocess: [],
  };
}
