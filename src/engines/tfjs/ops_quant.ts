/**
 * QuantizeLinear and DequantizeLinear as float32 math (8-bit, per tensor or per axis).
 * On constants (int8/uint8 weights, int32 biases) they fold at load, so a QDQ model's convolutions get
 * plain float weights; on activations they run as round-half-even, shift and clamp.
 *
 * @module
 */
import { foldElementwise } from "./fold.ts";
import {
  constInput,
  nhwcAxis,
  type OpBuilder,
  type OpContext,
  optionalConst,
  requireAct,
} from "./op_context.ts";
import { type ConstTensor, dataTypeName } from "../../onnx/tensor_data.ts";
import { roundHalfEven } from "../../onnx/quantize_linear.ts";

const RANGES: Record<number, [number, number]> = { 2: [0, 255], 3: [-128, 127] };

interface QuantParams {
  scale: ConstTensor;
  zero: ConstTensor;
  /** element type of the quantized side */
  dataType: number;
  /** the NCHW axis the parameters run along, or null per tensor */
  axis: number | null;
}

function readParams(
  ctx: OpContext,
  rank: number | null,
  quantizedType?: number,
  allowInt32 = false,
): QuantParams {
  ctx.attrs.only(["axis", "saturate", "block_size", "output_dtype"]);
  if (ctx.attrs.int("block_size", 0) !== 0) {
    ctx.attrs.unsupported("block quantization (block_size)");
  }
  if (ctx.attrs.int("output_dtype", 0) !== 0) ctx.attrs.unsupported("output_dtype");
  const scale = constInput(ctx, 1, "scale");
  const given = optionalConst(ctx, 2, "zero point");
  const dataType = given?.dataType ?? quantizedType ?? 2;
  // int32 appears only as dequantized constants (biases, zero point 0), which fold exactly.
  const int32Ok = allowInt32 && dataType === 6;
  if (!(dataType in RANGES) && !int32Ok) {
    ctx.attrs.unsupported(
      `${dataTypeName(dataType)} quantization (only int8, uint8${
        allowInt32 ? ", int32 constants" : ""
      })`,
    );
  }
  const zero = given ?? { data: new Float32Array(scale.data.length), dims: scale.dims, dataType };
  if (zero.data.length !== scale.data.length) {
    ctx.attrs.unsupported("scale and zero point of different lengths");
  }
  if (scale.data.length === 1 && scale.dims.length <= 1) {
    return { scale, zero, dataType, axis: null };
  }
  if (scale.dims.length !== 1) ctx.attrs.unsupported(`a rank-${scale.dims.length} scale`);
  let axis = ctx.attrs.int("axis", 1);
  if (rank !== null) {
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) {
      ctx.attrs.unsupported(`axis ${ctx.attrs.int("axis", 1)} for rank ${rank}`);
    }
  }
  return { scale, zero, dataType, axis };
}

/** Scale/zero reshaped to broadcast along `axis` of a tensor of rank `rank` (ONNX layout). */
function alongAxis(t: ConstTensor, axis: number | null, rank: number): ConstTensor {
  if (axis === null) return { ...t, dims: [] };
  const dims = new Array(rank).fill(1);
  dims[axis] = t.data.length;
  return { ...t, dims };
}

const dequantize: OpBuilder = (ctx) => {
  const { tf } = ctx;
  const x = ctx.inputs[0];
  if (x?.kind === "const") {
    const p = readParams(ctx, x.tensor.dims.length, x.tensor.dataType, true);
    if (p.axis !== null && x.tensor.dims[p.axis] !== p.scale.data.length) {
      ctx.attrs.unsupported(
        `${p.scale.data.length} scales for axis ${p.axis} of length ${x.tensor.dims[p.axis]}`,
      );
    }
    const rank = x.tensor.dims.length;
    const s = alongAxis(p.scale, p.axis, rank);
    const z = alongAxis(p.zero, p.axis, rank);
    return {
      kind: "const",
      tensor: foldElementwise([x.tensor, z, s], (v, zp, sc) => Math.fround((v - zp) * sc)),
    };
  }
  requireAct(ctx, 0);
  const p = readParams(ctx, 4);
  const { scale, zero } = activationParams(ctx, p);
  return { kind: "act", inputs: [0], run: ([v]) => tf.mul(tf.sub(v, zero), scale) };
};

/** Scale and zero point as tensors broadcasting over an NHWC activation. */
function activationParams(ctx: OpContext, p: QuantParams) {
  const shape = [1, 1, 1, 1];
  if (p.axis !== null) shape[nhwcAxis(p.axis, ctx)] = p.scale.data.length;
  return {
    scale: ctx.keep(ctx.tf.tensor(p.scale.data, p.axis === null ? [] : shape)),
    zero: ctx.keep(ctx.tf.tensor(p.zero.data, p.axis === null ? [] : shape)),
  };
}

const quantize: OpBuilder = (ctx) => {
  const { tf } = ctx;
  const x = ctx.inputs[0];
  if (x?.kind === "const") {
    const p = readParams(ctx, x.tensor.dims.length);
    const [lo, hi] = RANGES[p.dataType];
    const rank = x.tensor.dims.length;
    const q = foldElementwise(
      [x.tensor, alongAxis(p.zero, p.axis, rank), alongAxis(p.scale, p.axis, rank)],
      (v, zp, sc) => Math.min(hi, Math.max(lo, roundHalfEven(Math.fround(v / sc)) + zp)),
    );
    return { kind: "const", tensor: { ...q, dataType: p.dataType } };
  }
  requireAct(ctx, 0);
  const p = readParams(ctx, 4);
  const [lo, hi] = RANGES[p.dataType];
  const { scale, zero } = activationParams(ctx, p);
  return {
    kind: "act",
    inputs: [0],
    run: ([v]) => tf.clipByValue(tf.add(tf.round(tf.div(v, scale)), zero), lo, hi),
  };
};

/** Builders of this module, by op type. */
export const QUANT_OPS: Record<string, OpBuilder> = {
  QuantizeLinear: quantize,
  DequantizeLinear: dequantize,
};
