/**
 * SHA-256 of bytes, as lowercase hex (Web Crypto), and the hash a card records for a
 * model: its graph and external data together.
 *
 * @module
 */
import { join } from "node:path";
import { readExternalData } from "../onnx/external_data.ts";
import { inspectModel } from "../onnx/inspect.ts";

/** SHA-256 of `bytes`, hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * SHA-256 (hex) of a model as served: the graph's bytes followed by each external-data
 * file it names (in the order the graph first names them). Without external data this is
 * the plain SHA-256 of the `.onnx` file (`sha256sum model.onnx`); with it, the same as
 * `cat model.onnx model.onnx.data | sha256sum`.
 * @param dir the version folder
 * @param modelFile the `.onnx` file name inside `dir`
 * @throws {Error} when the graph is not ONNX or its external data is missing
 */
export async function modelSha256(dir: string, modelFile: string): Promise<string> {
  const graph = await Deno.readFile(join(dir, modelFile));
  const { files } = await readExternalData(dir, modelFile, inspectModel(graph).externalData);
  const total = graph.length + files.reduce((n, f) => n + f.data.length, 0);
  const all = new Uint8Array(total);
  all.set(graph);
  let at = graph.length;
  for (const f of files) {
    all.set(f.data, at);
    at += f.data.length;
  }
  return await sha256Hex(all);
}
