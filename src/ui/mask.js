/**
 * Mask helpers for the page: COCO RLE (as the server's JSON carries it) back to a
 * row-major 0/1 mask, and drawing the mask over the image on a canvas (translucent fill,
 * solid boundary: the same rule as the server's overlay).
 */

/** Decodes a COCO counts string to run lengths (pycocotools `rleFrString`). */
export function stringToCounts(s) {
  const counts = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** COCO RLE `{size: [h, w], counts}` → row-major Uint8Array of 0/1. */
export function rleToMask(rle) {
  const [h, w] = rle.size;
  const mask = new Uint8Array(w * h);
  let i = 0, value = 0;
  for (const run of stringToCounts(rle.counts)) {
    for (let k = 0; k < run; k++, i++) {
      if (value) mask[(i % h) * w + Math.floor(i / h)] = 1; // column-major index → row-major
    }
    value ^= 1;
  }
  return mask;
}

/**
 * Draws the image and the mask on the canvas.
 * @param {HTMLCanvasElement} canvas
 * @param {ImageBitmap} image the base image (drawn at the mask's size)
 * @param {Uint8Array} mask row-major 0/1
 * @param {{opacity: number, outlineOnly: boolean}} style
 */
export function drawOverlay(canvas, image, mask, width, height, style) {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0, width, height);
  const pixels = ctx.getImageData(0, 0, width, height);
  const d = pixels.data;
  const color = [255, 32, 96];
  const fill = style.outlineOnly ? 0 : style.opacity;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 ||
        !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width];
      const a = edge ? 1 : fill;
      for (let c = 0; c < 3; c++) d[4 * i + c] = Math.round(d[4 * i + c] * (1 - a) + color[c] * a);
    }
  }
  ctx.putImageData(pixels, 0, 0);
}
