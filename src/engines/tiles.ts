/**
 * Overlap-tile inference (the U-Net paper's "overlap-tile strategy"): an input larger than
 * `maxTilePixels` runs as tiles of at most that size, each with a margin of at least the
 * model's receptive-field radius around the part of it that is kept, so every kept output
 * pixel saw exactly the inputs it would have seen in one run over the whole image. Tiles
 * start and end on multiples of the net's largest step (16 for a 4-pool U-Net), so every
 * pooling grid lines up with the whole image's. The result equals the untiled run up to
 * float rounding (tests/unit/engines/tiles_test.ts), while the engine's activations are
 * those of one tile, not of the whole image: a 1600² V2 tensor runs as 36 tiles of 512²
 * (the default `TINYUNET_TILE_PIXELS`), whose activations are ~31 MiB (one thread, 1 MiB
 * mmap threshold, measured without onnxruntime's arena; with it, native sessions keep one
 * tile's worth until the arena is shrunk) against +359 MiB whole. The margin is wide (112 px a side), so 384² tiles
 * (100 of them, ~18 MiB) ran 1.5× slower for no lower peak measured at the server.
 *
 * MONAI's `sliding_window_inference` is the usual tool, but it blends overlapping windows
 * (an approximation that needs no receptive field); here the receptive field is known from
 * the graph (`src/onnx/receptive_field.ts`), so the cut can be exact and there is nothing
 * to blend.
 *
 * @module
 */
import type { ReceptiveField } from "../onnx/receptive_field.ts";
import type { EngineSession, Tensor } from "./engine.ts";
import { releaseNow } from "../memory/release.ts";

/** One tile along one axis: the input span it reads and the output span it keeps. */
export interface Segment {
  start: number;
  end: number;
  keepStart: number;
  keepEnd: number;
}

/** The tiles of one image: every row segment with every column segment. */
export interface TilePlan {
  rows: Segment[];
  cols: Segment[];
}

/**
 * Splits one axis of `size` into tiles of exactly `tile` (or one of `size` when it fits),
 * each kept part at least `halo` inside its tile except on the image's own edges. Every tile
 * has the same length, the last one overlapping its neighbour more: runs of one shape let
 * the allocator reuse one run's freed activations for the next (with tiles of mixed shapes a
 * 1600² V2 request peaked at +113-273 MiB, with one shape at +81-102 once warm).
 */
export function axisSegments(size: number, tile: number, halo: number): Segment[] {
  if (size <= tile) return [{ start: 0, end: size, keepStart: 0, keepEnd: size }];
  const out: Segment[] = [{ start: 0, end: tile, keepStart: 0, keepEnd: tile - halo }];
  for (let k = tile - halo; k < size;) {
    if (size - (k - halo) <= tile) {
      out.push({ start: size - tile, end: size, keepStart: k, keepEnd: size });
      break;
    }
    const start = k - halo;
    out.push({ start, end: start + tile, keepStart: k, keepEnd: start + tile - halo });
    k = start + tile - halo;
  }
  return out;
}

/**
 * Plans the tiles for an `height`×`width` input, or null when it runs whole: it fits in
 * `maxTilePixels`, the model cannot be tiled (`field` null), its sides are not multiples of
 * the net's step, or a tile that size would have no room inside its margins.
 */
export function planTiles(
  height: number,
  width: number,
  field: ReceptiveField | null,
  maxTilePixels: number,
): TilePlan | null {
  if (!field || maxTilePixels <= 0 || height * width <= maxTilePixels) return null;
  const { align } = field;
  if (height % align !== 0 || width % align !== 0) return null;
  const halo = Math.ceil(field.radius / align) * align;
  const tile = Math.floor(Math.sqrt(maxTilePixels) / align) * align;
  if (tile - 2 * halo < align) return null;
  return { rows: axisSegments(height, tile, halo), cols: axisSegments(width, tile, halo) };
}

/** Copies the `rows`×`cols` window of an NCHW tensor into a new tensor (or into `into`). */
export function cropNchw(
  t: Tensor,
  rows: [number, number],
  cols: [number, number],
  into?: Float32Array,
): Tensor {
  const [n, c, h, w] = t.dims;
  const th = rows[1] - rows[0], tw = cols[1] - cols[0];
  const out = into?.length === n * c * th * tw ? into : new Float32Array(n * c * th * tw);
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * h * w;
    for (let y = rows[0]; y < rows[1]; y++, o += tw) {
      const from = base + y * w + cols[0];
      out.set(t.data.subarray(from, from + tw), o);
    }
  }
  return { data: out, dims: [n, c, th, tw] };
}

/** Writes the kept part of a tile's NCHW output into the whole image's output. */
function pasteKept(whole: Tensor, part: Tensor, row: Segment, col: Segment) {
  const [n, c, h, w] = whole.dims;
  const [, , ph, pw] = part.dims;
  const width = col.keepEnd - col.keepStart;
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = row.keepStart; y < row.keepEnd; y++) {
      const from = plane * ph * pw + (y - row.start) * pw + (col.keepStart - col.start);
      whole.data.set(part.data.subarray(from, from + width), plane * h * w + y * w + col.keepStart);
    }
  }
}

/**
 * Runs `run` on `feeds` (one NCHW input) tile by tile per `plan` and stitches the outputs
 * (each NCHW at the input's height and width). Once `signal` aborts (the request's deadline
 * passed, or its client left) no further tile starts: a large tensor's remaining tiles would
 * otherwise hold the engine for nobody.
 * @throws {Error} when an output does not have the tile's height and width
 * @throws the signal's reason when it aborts between tiles
 */
export async function runTiled(
  run: (feeds: Record<string, Tensor>) => Promise<Record<string, Tensor>>,
  name: string,
  input: Tensor,
  plan: TilePlan,
  signal?: AbortSignal,
): Promise<Record<string, Tensor>> {
  const [, , height, width] = input.dims;
  const outputs: Record<string, Tensor> = {};
  // every tile has one shape (axisSegments), so one crop buffer serves them all: the engine
  // has copied its input when the run resolves
  let crop: Float32Array | undefined;
  try {
    for (const row of plan.rows) {
      for (const col of plan.cols) {
        signal?.throwIfAborted();
        const tile = cropNchw(input, [row.start, row.end], [col.start, col.end], crop);
        crop = tile.data;
        const result = await run({ [name]: tile });
        for (const [key, part] of Object.entries(result)) {
          const [n, c, ph, pw] = part.dims;
          if (part.dims.length !== 4 || ph !== row.end - row.start || pw !== col.end - col.start) {
            throw new Error(`output "${key}" is ${part.dims.join("×")}, not at the tile's size`);
          }
          outputs[key] ??= {
            data: new Float32Array(n * c * height * width),
            dims: [n, c, height, width],
          };
          pasteKept(outputs[key], part, row, col);
          // freed now, not at V8's next collection (the tiles' outputs would pile up)
          releaseNow(part.data.buffer);
        }
      }
    }
  } finally {
    if (crop) releaseNow(crop.buffer);
  }
  return outputs;
}

/**
 * Runs `session` on `feeds`, as overlapping tiles when the one NCHW input is over
 * `maxTilePixels` and the model can be tiled (see {@link planTiles}), else in one run;
 * `onTile` hears each tile as it starts; a tiled run stops between tiles once `signal`
 * aborts.
 */
export function runWithTiles(
  session: Pick<EngineSession, "run">,
  feeds: Record<string, Tensor>,
  field: ReceptiveField | null,
  maxTilePixels: number,
  onTile?: () => void,
  signal?: AbortSignal,
): Promise<Record<string, Tensor>> {
  const entries = Object.entries(feeds);
  if (entries.length === 1 && entries[0][1].dims.length === 4) {
    const [name, input] = entries[0];
    const plan = planTiles(input.dims[2], input.dims[3], field, maxTilePixels);
    if (plan) {
      const run = (f: Record<string, Tensor>) => (onTile?.(), session.run(f));
      return runTiled(run, name, input, plan, signal);
    }
  }
  return session.run(feeds);
}
