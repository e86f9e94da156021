/**
 * Typed access to an ONNX node's attributes, by name with defaults: one reader for the
 * tfjs-wasm engine's compiler, the quantiser and the benchmark's FLOP counter.
 *
 * @module
 */
import { type onnx, toNumber } from "./proto.ts";

/** Names a node for messages: `Conv "conv_3"`. */
export function describeNode(node: onnx.INodeProto): string {
  return `${node.opType}${node.name ? ` "${node.name}"` : ""}`;
}

/** The attributes of one node, read by name with defaults. */
export class Attributes {
  protected readonly byName = new Map<string, onnx.IAttributeProto>();

  /** @param node the node whose attributes to read */
  constructor(readonly node: onnx.INodeProto) {
    for (const a of node.attribute ?? []) this.byName.set(a.name ?? "", a);
  }

  /** Whether the attribute is present. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** An INT attribute. */
  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? toNumber(a.i as number) : fallback;
  }

  /** A FLOAT attribute. */
  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? (a.f ?? 0) : fallback;
  }

  /** A STRING attribute (UTF-8). */
  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }

  /** An INTS attribute. */
  ints(name: string, fallback: number[]): number[] {
    const a = this.byName.get(name);
    return a ? (a.ints ?? []).map((v) => toNumber(v as number)) : fallback;
  }

  /** A FLOATS attribute. */
  floats(name: string, fallback: number[]): number[] {
    const a = this.byName.get(name);
    return a ? [...(a.floats ?? [])] : fallback;
  }

  /** A TENSOR attribute, or undefined. */
  tensor(name: string): onnx.ITensorProto | undefined {
    return this.byName.get(name)?.t ?? undefined;
  }
}
