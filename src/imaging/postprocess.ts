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
  const { scaledWidth: sw, scaledHeight: sh, padTop, padLeft } = geometry;
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
