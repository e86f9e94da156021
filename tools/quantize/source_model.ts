/**
 * Reading the fp32 model to quantise: decoded, opset checked, external-data weights
 * moved inline (so the calibration copy and the int8 model are self-contained).
 *
 * @module
 */
import { basename } from "node:path";
import { inlineExternalData, readExternalData } from "../../src/onnx/external_data.ts";
import { inspectModel } from "../../src/onnx/inspect.ts";
import { decodeModel, encodeModel, type onnx, toNumber } from "../../src/onnx/proto.ts";
import { QuantizeError } from "./errors.ts";

/** The fp32 model, ready to be rewritten. */
export interface SourceModel {
  /** the file's bytes, as read (for its hash) */
  bytes: Uint8Array;
  /** decoded, weights inline; the quantiser edits this */
  model: onnx.IModelProto;
  /** self-contained `.onnx` bytes of the fp32 model (what engines load for comparisons) */
  inline: Uint8Array;
  /** size of the fp32 model on disk, external data included */
  size: number;
}

/**
 * Reads the fp32 model.
 * @param path the `.onnx` file
 * @param dir its folder (external data)
 * @throws {QuantizeError} when unreadable, not ONNX, older than opset 13, or its external data is missing
 */
export async function readSourceModel(path: string, dir: string): Promise<SourceModel> {
  const bytes = await Deno.readFile(path).catch((err) => {
    throw new QuantizeError(`cannot read ${path}: ${err.message}`);
  });
  let model: onnx.IModelProto;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new QuantizeError(`${path}: ${(err as Error).message}`);
  }
  const opset = toNumber(
    (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx")?.version as number,
  );
  if (opset < 13) {
    throw new QuantizeError(
      `${path}: opset ${opset}; per-channel QDQ needs opset 13 or later (re-export the model)`,
    );
  }
  let external: number;
  try {
    const { files } = await readExternalData(dir, basename(path), inspectModel(bytes).externalData);
    external = inlineExternalData(model, files);
  } catch (err) {
    throw new QuantizeError(`${path}: ${(err as Error).message}`);
  }
  return {
    bytes,
    model,
    inline: external ? encodeModel(model) : bytes,
    size: bytes.length + external,
  };
}
