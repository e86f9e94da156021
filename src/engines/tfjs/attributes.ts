/**
 * The tfjs-wasm engine's view of a node's attributes (src/onnx/attributes.ts) plus the error
 * every unsupported operator, attribute or element type raises at load time.
 *
 * @module
 */
import { Attributes as OnnxAttributes, describeNode } from "../../onnx/attributes.ts";

/** A model feature the tfjs-wasm engine does not implement (raised at load, never guessed). */
export class UnsupportedOnnxError extends Error {
  constructor(message: string) {
    super(`tfjs-wasm engine: ${message}`);
    this.name = "UnsupportedOnnxError";
  }
}

/** A node's attributes, with the engine's refusals. */
export class Attributes extends OnnxAttributes {
  /**
   * Rejects attributes this engine does not read (so an unknown option is never ignored).
   * @throws {UnsupportedOnnxError} naming the node and the attribute
   */
  only(known: readonly string[]): void {
    for (const name of this.byName.keys()) {
      if (!known.includes(name)) this.unsupported(`attribute ${name}`);
    }
  }

  /**
   * Throws the load-time error for an unsupported attribute value.
   * @throws {UnsupportedOnnxError} always
   */
  unsupported(what: string): never {
    throw new UnsupportedOnnxError(`${describeNode(this.node)}: unsupported ${what}`);
  }
}
