/**
 * The post-quantisation check: fp32 and int8 run on one calibration image through the
 * server's pre- and postprocessing; reports mask agreement and the largest output
 * difference. The int8 model must load here, so a graph the engine rejects is caught
 * before anything is written.
 *
 * @module
 */
import { basename } from "node:path";
import type { Engine, Tensor } from "../../src/engines/engine.ts";
import { decodeImage } from "../../src/imaging/decode.ts";
import { DEFAULT_DECODE_LIMITS } from "../../src/imaging/image.ts";
import { postprocess } from "../../src/imaging/postprocess.ts";
import { preprocess } from "../../src/imaging/preprocess.ts";
import type { ModelCard } from "../../src/models/card.ts";
import { QuantizeError } from "./errors.ts";

/** Agreement of the two precisions on one image. */
export interface AgreementCheck {
  image: string;
  /** share of pixels whose mask value is the same */
  mask_agreement: number;
  /** largest |fp32 − int8| of the raw model output */
  max_abs_output_diff: number;
}

function round(v: number, digits: number): number {
  return Math.round(v * 10 ** digits) / 10 ** digits;
}

/**
 * Runs both models on `imageFile` and compares them.
 * @throws {QuantizeError} when the int8 model does not load or run
 */
export async function agreementCheck(
  engine: Engine,
  models: { fp32: Uint8Array; int8: Uint8Array },
  imageFile: string,
  card: ModelCard,
  threads?: number,
): Promise<AgreementCheck> {
  const image = await decodeImage(await Deno.readFile(imageFile), undefined, DEFAULT_DECODE_LIMITS);
  const { tensor, geometry } = preprocess(image, card.input);
  const feeds: Record<string, Tensor> = { [card.input.name]: tensor };
  const run = async (bytes: Uint8Array, path: string) => {
    const session = await engine.createSession({ path, bytes, externalData: [] }, { threads });
    try {
      return (await session.run(feeds))[card.output.name];
    } finally {
      await session.release();
    }
  };
  const a = await run(models.fp32, "model.onnx");
  let b: Tensor;
  try {
    b = await run(models.int8, "model.int8.onnx");
  } catch (err) {
    throw new QuantizeError(
      `the quantised model does not run on ${engine.name}: ${(err as Error).message}`,
    );
  }
  let maxDiff = 0;
  for (let i = 0; i < a.data.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a.data[i] - b.data[i]));
  }
  const ma = postprocess(a, geometry, card.output.kind, card.threshold).mask;
  const mb = postprocess(b, geometry, card.output.kind, card.threshold).mask;
  let same = 0;
  for (let i = 0; i < ma.length; i++) if (ma[i] === mb[i]) same++;
  return {
    image: basename(imageFile),
    mask_agreement: round(same / ma.length, 5),
    max_abs_output_diff: round(maxDiff, 5),
  };
}
