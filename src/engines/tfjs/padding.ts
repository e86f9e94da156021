/**
 * ONNX spatial attributes (kernel, strides, dilations, pads, auto_pad) read and checked
 * once, and resolved to explicit pads for an input size at run time.
 *
 * @module
 */
import type { Attributes } from "./attributes.ts";

/** Spatial settings of a 2-D convolution or pooling node. */
export interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** NOTSET (explicit pads), SAME_UPPER, SAME_LOWER or VALID */
  autoPad: string;
  /** [top, left, bottom, right] as ONNX orders them */
  pads: [number, number, number, number];
}

const AUTO_PADS = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"];

function pair(
  attrs: Attributes,
  name: string,
  fallback: [number, number],
  min: number,
): [number, number] {
  const v = attrs.ints(name, fallback);
  if (v.length !== 2) attrs.unsupported(`${name}=[${v}] (only 2-D windows)`);
  if (v.some((x) => !Number.isInteger(x) || x < min)) attrs.unsupported(`${name}=[${v}]`);
  return [v[0], v[1]];
}

/**
 * Reads a node's window attributes.
 * @param kernel the kernel size from the weights, or undefined where `kernel_shape` is required
 * @throws {UnsupportedOnnxError} for non-2-D windows, bad values or an unknown auto_pad
 */
export function readWindow(attrs: Attributes, kernel?: [number, number]): Window {
  if (!kernel && !attrs.has("kernel_shape")) attrs.unsupported("missing kernel_shape");
  const k = pair(attrs, "kernel_shape", kernel ?? [1, 1], 1);
  if (kernel && (k[0] !== kernel[0] || k[1] !== kernel[1])) {
    attrs.unsupported(`kernel_shape=[${k}] that differs from the weights' [${kernel}]`);
  }
  const autoPad = attrs.string("auto_pad", "NOTSET");
  if (!AUTO_PADS.includes(autoPad)) attrs.unsupported(`auto_pad=${autoPad}`);
  const pads = attrs.ints("pads", [0, 0, 0, 0]);
  if (pads.length !== 4) attrs.unsupported(`pads=[${pads}] (only 2-D windows)`);
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) attrs.unsupported(`pads=[${pads}]`);
  return {
    kernel: k,
    strides: pair(attrs, "strides", [1, 1], 1),
    dilations: pair(attrs, "dilations", [1, 1], 1),
    autoPad,
    pads: [pads[0], pads[1], pads[2], pads[3]],
  };
}

/**
 * Explicit pads for an input of `size` (H, W), in tfjs's NHWC form.
 * @returns [[0,0],[top,bottom],[left,right],[0,0]]
 */
export function resolvePads(
  win: Window,
  size: [number, number],
): [[number, number], [number, number], [number, number], [number, number]] {
  const [t, l, b, r] = win.pads;
  if (win.autoPad === "NOTSET") return [[0, 0], [t, b], [l, r], [0, 0]];
  if (win.autoPad === "VALID") return [[0, 0], [0, 0], [0, 0], [0, 0]];
  const axis = (i: 0 | 1): [number, number] => {
    const out = Math.ceil(size[i] / win.strides[i]);
    const span = (win.kernel[i] - 1) * win.dilations[i] + 1;
    const total = Math.max(0, (out - 1) * win.strides[i] + span - size[i]);
    const head = win.autoPad === "SAME_LOWER" ? Math.ceil(total / 2) : Math.floor(total / 2);
    return [head, total - head];
  };
  return [[0, 0], axis(0), axis(1), [0, 0]];
}
