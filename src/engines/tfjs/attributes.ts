/**
 * Typed access to an ONNX node's attributes, and the error every unsupported operator or
 * attribute value raises at load time.
 *
 * @module
 */
import { type onnx, toNumber } from "../../onnx/proto.ts";

/** A model feature the tfjs-wasm engine does not implement (raised at load, never guessed). */
export class UnsupportedOnnxError extends Error {
  constructor(message: string) {
    super(`tfjs-wasm engine: ${message}`);
    this.name = "UnsupportedOnnxError";
  }
}

/** Names a node for error messages: `Conv "conv_3"`. */
export function describeNode(node: onnx.INodeProto): string {
  return `${node.opType}${node.name ? ` "${node.name}"` : ""}`;
}

/** The attributes of one node, read by name with defaults. */
export class Attributes {
  readonly #byName = new Map<string, onnx.IAttributeProto>();

  /** @param node the node whose attributes to read */
  constructor(readonly node: onnx.INodeProto) {
    for (const a of node.attribute ?? []) this.#byName.set(a.name ?? "", a);
  }

  /** Whether the attribute is present. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** An INT attribute. */
  int(name: string, fallback: number): number {
    const a = this.#byName.get(name);
    return a ? toNumber(a.i as number) : fallback;
  }

  /** A FLOAT attribute. */
  float(name: string, fallback: number): number {
    const a = this.#byName.get(name);
    return a ? (a.f ?? 0) : fallback;
  }

  /** A STRING attribute (UTF-8). */
  string(name: string, fallback: string): string {
    const a = this.#byName.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }

  /** An INTS attribute. */
  ints(name: string, fallback: number[]): number[] {
    const a = this.#byName.get(name);
    return a ? (a.ints ?? []).map((v) => toNumber(v as number)) : fallback;
  }

  /** A FLOATS attribute. */
  floats(name: string, fallback: number[]): number[] {
    const a = this.#byName.get(name);
    return a ? [...(a.floats ?? [])] : fallback;
  }

  /** A TENSOR attribute, or undefined. */
  tensor(name: string): onnx.ITensorProto | undefined {
    return this.#byName.get(name)?.t ?? undefined;
  }

  /**
   * Rejects attributes this engine does not read (so an unknown option is never ignored).
   * @throws {UnsupportedOnnxError} naming the node and the attribute
   */
  only(known: readonly string[]): void {
    for (const name of this.#byName.keys()) {
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
