/**
 * The DICOM VOI (window) transform, PS3.3 C.11.2.1.2: modality values → display values
 * in [0, 1] with the LINEAR, LINEAR_EXACT or SIGMOID function; without a window, a
 * min/max stretch. Also parses the `?window=center,width` override.
 *
 * @module
 */
import { ApiError } from "../errors.ts";

/** VOI LUT Function (0028,1056) values we apply. */
export type VoiFunction = "LINEAR" | "LINEAR_EXACT" | "SIGMOID";

/** A window: center and width in modality units (after rescale). */
export interface Window {
  center: number;
  width: number;
  fn: VoiFunction;
}

/** Reads a VOI LUT Function value ("LINEAR" when absent). */
export function parseVoiFunction(value: string | undefined): VoiFunction {
  const v = (value ?? "").trim().toUpperCase() || "LINEAR";
  if (v === "LINEAR" || v === "LINEAR_EXACT" || v === "SIGMOID") return v;
  throw new ApiError(
    "unsupported_image",
    `VOI LUT Function "${v.slice(0, 16)}" is not supported; LINEAR, LINEAR_EXACT and SIGMOID are`,
  );
}

/** Why a window is unusable, or null when it is fine. */
export function windowProblem(w: Window): string | null {
  if (!Number.isFinite(w.center) || !Number.isFinite(w.width)) {
    return "center and width must be finite numbers";
  }
  if (w.fn === "LINEAR" && w.width < 1) {
    return `width ${w.width} is below 1 (LINEAR windows need width ≥ 1)`;
  }
  if (w.width <= 0) return `width ${w.width} must be positive`;
  return null;
}

/**
 * Parses `?window=center,width`.
 * @throws {ApiError} `bad_request` (400) when malformed
 */
export function parseWindowParam(text: string): [number, number] {
  const parts = text.split(",");
  const nums = parts.map((p) => (p.trim() === "" ? NaN : Number(p)));
  if (parts.length !== 2 || !nums.every(Number.isFinite) || nums[1] <= 0) {
    throw new ApiError(
      "bad_request",
      `window must be "center,width" with a positive width (e.g. window=40,400); got "${
        text.slice(0, 40)
      }"`,
    );
  }
  return [nums[0], nums[1]];
}

/** Applies a window to modality values: display values in [0, 1]. */
export function applyWindow(values: Float32Array, w: Window): Float32Array {
  const out = new Float32Array(values.length);
  const { center: c, width: wd } = w;
  if (w.fn === "SIGMOID") {
    for (let i = 0; i < values.length; i++) {
      out[i] = 1 / (1 + Math.exp((-4 * (values[i] - c)) / wd));
    }
  } else if (w.fn === "LINEAR_EXACT") {
    const lo = c - wd / 2, hi = c + wd / 2;
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      out[i] = x <= lo ? 0 : x > hi ? 1 : (x - c) / wd + 0.5;
    }
  } else {
    const lo = c - 0.5 - (wd - 1) / 2, hi = c - 0.5 + (wd - 1) / 2;
    for (let i = 0; i < values.length; i++) {
      const x = values[i];
      out[i] = x <= lo ? 0 : x > hi ? 1 : (x - (c - 0.5)) / (wd - 1) + 0.5;
    }
  }
  return out;
}

/** Stretches modality values to [0, 1] between their minimum and maximum (all 0 if flat). */
export function stretchMinMax(values: Float32Array): Float32Array {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Float32Array(values.length);
  if (!(hi > lo)) return out;
  const scale = 1 / (hi - lo);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - lo) * scale;
  return out;
}

/** MONOCHROME1 (white is low): flips display values in place. */
export function invertInPlace(display: Float32Array): Float32Array {
  for (let i = 0; i < display.length; i++) display[i] = 1 - display[i];
  return display;
}
