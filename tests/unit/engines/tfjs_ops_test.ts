/**
 * Per-operator parity of the tfjs-wasm engine against onnxruntime-node on random inputs of
 * odd sizes: one small graph per operator and attribute variant.
 */
import type { onnx } from "../../../src/onnx/proto.ts";
import type { GraphBuilder } from "../../../lib/onnx_builder.ts";
import { addTensor, attr, compareEngines, opGraph } from "../../helpers/tfjs_parity.ts";

const { int, float, ints, string } = attr;

function conv(
  g: GraphBuilder,
  x: string,
  cin: number,
  cout: number,
  k: [number, number],
  attrs: onnx.IAttributeProto[],
  opts: { group?: number; bias?: boolean } = {},
): string {
  const group = opts.group ?? 1;
  const w = g.randomTensor([cout, cin / group, k[0], k[1]], (cin / group) * k[0] * k[1]);
  const inputs = opts.bias === false ? [x, w] : [x, w, g.randomTensor([cout], 10, "b")];
  return g.node("Conv", inputs, [
    ints("kernel_shape", k),
    ...(group > 1 ? [int("group", group)] : []),
    ...attrs,
  ]);
}

const convCases: [
  string,
  number,
  number,
  [number, number],
  onnx.IAttributeProto[],
  { group?: number; bias?: boolean },
  number[],
][] = [
  ["3×3 pads 1 on 13×11", 3, 5, [3, 3], [ints("pads", [1, 1, 1, 1])], {}, [1, 3, 13, 11]],
  [
    "stride 2, asymmetric pads",
    3,
    4,
    [3, 3],
    [ints("strides", [2, 2]), ints("pads", [0, 1, 2, 0])],
    {},
    [1, 3, 15, 12],
  ],
  ["dilation 2", 2, 3, [3, 3], [ints("dilations", [2, 2]), ints("pads", [2, 2, 2, 2])], {}, [
    1,
    2,
    11,
    9,
  ]],
  [
    "stride 2 with dilation 2",
    2,
    3,
    [3, 3],
    [ints("dilations", [2, 2]), ints("strides", [2, 2]), ints("pads", [1, 2, 1, 0])],
    {},
    [1, 2, 13, 10],
  ],
  ["non-square 1×5 kernel, no bias, batch 2", 3, 2, [1, 5], [ints("pads", [0, 2, 0, 2])], {
    bias: false,
  }, [2, 3, 7, 9]],
  ["groups 2", 4, 6, [3, 3], [ints("pads", [1, 1, 1, 1])], { group: 2 }, [1, 4, 9, 7]],
  ["groups 2 with stride 2", 4, 2, [3, 3], [ints("strides", [2, 2]), ints("pads", [1, 1, 1, 1])], {
    group: 2,
  }, [1, 4, 9, 7]],
  ["depthwise (groups = channels, multiplier 2)", 3, 6, [3, 3], [ints("pads", [1, 0, 1, 2])], {
    group: 3,
  }, [1, 3, 10, 11]],
  [
    "auto_pad SAME_UPPER, stride 2, even kernel",
    3,
    4,
    [4, 4],
    [string("auto_pad", "SAME_UPPER"), ints("strides", [2, 2])],
    {},
    [1, 3, 13, 10],
  ],
  [
    "auto_pad SAME_LOWER, stride 2, even kernel",
    3,
    4,
    [4, 4],
    [string("auto_pad", "SAME_LOWER"), ints("strides", [2, 2])],
    {},
    [1, 3, 13, 10],
  ],
  ["auto_pad VALID", 3, 4, [3, 3], [string("auto_pad", "VALID")], {}, [1, 3, 9, 8]],
];

for (const [name, cin, cout, k, attrs, opts, dims] of convCases) {
  Deno.test(`tfjs-wasm Conv: ${name}`, async () => {
    await compareEngines(opGraph(cin, (g, x) => conv(g, x, cin, cout, k, attrs, opts)), dims);
  });
}

function bn(g: GraphBuilder, x: string, c: number): string {
  const scale = g.randomTensor([c], 3, "s");
  const bias = g.randomTensor([c], 10, "b");
  const mean = g.randomTensor([c], 10, "m");
  const variance = addTensor(
    g,
    `var_${g.initializers.length}`,
    Array.from({ length: c }, (_, i) => 0.5 + i * 0.25),
    [c],
  );
  return g.node("BatchNormalization", [x, scale, bias, mean, variance], [float("epsilon", 1e-3)]);
}

Deno.test("tfjs-wasm Conv fused with BatchNormalization and Relu", async () => {
  await compareEngines(
    opGraph(
      3,
      (g, x) => g.node("Relu", [bn(g, conv(g, x, 3, 5, [3, 3], [ints("pads", [1, 1, 1, 1])]), 5)]),
    ),
    [1, 3, 11, 13],
  );
});

Deno.test("tfjs-wasm Conv fused with LeakyRelu(0.2) and with Sigmoid", async () => {
  await compareEngines(
    opGraph(
      3,
      (g, x) => g.node("LeakyRelu", [conv(g, x, 3, 4, [3, 3], [])], [float("alpha", 0.2)]),
    ),
    [1, 3, 9, 9],
  );
  await compareEngines(
    opGraph(3, (g, x) => g.node("Sigmoid", [conv(g, x, 3, 4, [3, 3], [], { group: 1 })])),
    [1, 3, 9, 9],
  );
});

Deno.test("tfjs-wasm: a Conv output read twice is not fused away", async () => {
  await compareEngines(
    opGraph(3, (g, x) => {
      const c = conv(g, x, 3, 4, [3, 3], [ints("pads", [1, 1, 1, 1])]);
      return g.node("Add", [g.node("Relu", [c]), c]);
    }),
    [1, 3, 9, 7],
  );
});

function convT(
  g: GraphBuilder,
  x: string,
  cin: number,
  cout: number,
  k: number,
  attrs: onnx.IAttributeProto[],
  opts: { group?: number; bias?: boolean } = {},
): string {
  const group = opts.group ?? 1;
  const w = g.randomTensor([cin, cout / group, k, k], cin * k);
  const inputs = opts.bias === false ? [x, w] : [x, w, g.randomTensor([cout], 10, "b")];
  return g.node("ConvTranspose", inputs, [
    ints("kernel_shape", [k, k]),
    ...(group > 1 ? [int("group", group)] : []),
    ...attrs,
  ]);
}

const convTCases: [
  string,
  number,
  number,
  number,
  onnx.IAttributeProto[],
  { group?: number; bias?: boolean },
  number[],
][] = [
  ["2×2 stride 2 (U-Net up-sampling)", 4, 3, 2, [ints("strides", [2, 2])], {}, [1, 4, 7, 5]],
  [
    "3×3 stride 2, pads 1, output_padding 1",
    3,
    2,
    3,
    [ints("strides", [2, 2]), ints("pads", [1, 1, 1, 1]), ints("output_padding", [1, 1])],
    {},
    [1, 3, 6, 5],
  ],
  [
    "4×4 stride 2, asymmetric pads, no bias",
    2,
    3,
    4,
    [ints("strides", [2, 2]), ints("pads", [1, 0, 2, 1])],
    { bias: false },
    [1, 2, 5, 7],
  ],
  ["3×3 stride 1, groups 2", 4, 6, 3, [ints("pads", [1, 1, 1, 1])], { group: 2 }, [1, 4, 6, 5]],
  ["3×3 stride 3 (kernel = stride), batch 2", 3, 3, 3, [ints("strides", [3, 3])], {}, [2, 3, 4, 5]],
];

for (const [name, cin, cout, k, attrs, opts, dims] of convTCases) {
  Deno.test(`tfjs-wasm ConvTranspose: ${name}`, async () => {
    await compareEngines(opGraph(cin, (g, x) => convT(g, x, cin, cout, k, attrs, opts)), dims);
  });
}

const poolCases: [string, string, onnx.IAttributeProto[], number[]][] = [
  ["MaxPool 2×2 stride 2 on odd sizes", "MaxPool", [
    ints("kernel_shape", [2, 2]),
    ints("strides", [2, 2]),
  ], [1, 3, 9, 11]],
  ["MaxPool 3×3 stride 2 pads 1 ceil_mode", "MaxPool", [
    ints("kernel_shape", [3, 3]),
    ints("strides", [2, 2]),
    ints("pads", [1, 1, 1, 1]),
    int("ceil_mode", 1),
  ], [1, 2, 10, 9]],
  ["MaxPool 2×2 stride 2 pads 1 ceil_mode, last window would start in the padding", "MaxPool", [
    ints("kernel_shape", [2, 2]),
    ints("strides", [2, 2]),
    ints("pads", [1, 1, 1, 1]),
    int("ceil_mode", 1),
  ], [1, 2, 5, 7]],
  [
    "AveragePool 2×2 stride 2 pads 1 ceil_mode, last window would start in the padding",
    "AveragePool",
    [
      ints("kernel_shape", [2, 2]),
      ints("strides", [2, 2]),
      ints("pads", [1, 1, 1, 1]),
      int("ceil_mode", 1),
      int("count_include_pad", 1),
    ],
    [1, 2, 5, 7],
  ],
  ["MaxPool auto_pad SAME_UPPER", "MaxPool", [
    ints("kernel_shape", [3, 3]),
    ints("strides", [2, 2]),
    string("auto_pad", "SAME_UPPER"),
  ], [1, 2, 10, 7]],
  ["AveragePool 3×3 pads 1 excluding pads", "AveragePool", [
    ints("kernel_shape", [3, 3]),
    ints("pads", [1, 1, 1, 1]),
  ], [1, 2, 7, 8]],
  ["AveragePool 3×3 pads 1 counting pads", "AveragePool", [
    ints("kernel_shape", [3, 3]),
    ints("pads", [1, 1, 1, 1]),
    int("count_include_pad", 1),
  ], [1, 2, 7, 8]],
  ["AveragePool 3×3 stride 2 asymmetric pads ceil_mode", "AveragePool", [
    ints("kernel_shape", [3, 3]),
    ints("strides", [2, 2]),
    ints("pads", [1, 0, 1, 0]),
    int("ceil_mode", 1),
  ], [1, 2, 10, 9]],
  ["AveragePool 2×2 stride 2, no pads", "AveragePool", [
    ints("kernel_shape", [2, 2]),
    ints("strides", [2, 2]),
  ], [1, 3, 9, 8]],
];

for (const [name, op, attrs, dims] of poolCases) {
  Deno.test(`tfjs-wasm ${name}`, async () => {
    await compareEngines(opGraph(dims[1], (g, x) => g.node(op, [x], attrs)), dims);
  });
}

type ResizeInput = { scales: number[] } | { sizes: number[] };
const resizeCases: [string, ResizeInput, onnx.IAttributeProto[], number[]][] = [
  ["nearest ×2 asymmetric floor (PyTorch nearest)", { scales: [1, 1, 2, 2] }, [
    string("mode", "nearest"),
    string("coordinate_transformation_mode", "asymmetric"),
    string("nearest_mode", "floor"),
  ], [1, 2, 5, 7]],
  ["nearest half_pixel round_prefer_floor, down-sizing with ties", { sizes: [1, 2, 3, 4] }, [
    string("mode", "nearest"),
  ], [1, 2, 6, 8]],
  ["nearest half_pixel round_prefer_ceil, scale 1.5", { scales: [1, 1, 1.5, 1.5] }, [
    string("mode", "nearest"),
    string("nearest_mode", "round_prefer_ceil"),
  ], [1, 2, 6, 5]],
  ["linear half_pixel ×2", { scales: [1, 1, 2, 2] }, [string("mode", "linear")], [1, 3, 7, 5]],
  ["linear align_corners to odd sizes", { sizes: [1, 2, 20, 7] }, [
    string("mode", "linear"),
    string("coordinate_transformation_mode", "align_corners"),
  ], [1, 2, 13, 11]],
  ["linear pytorch_half_pixel down-sizing", { sizes: [1, 2, 5, 4] }, [
    string("mode", "linear"),
    string("coordinate_transformation_mode", "pytorch_half_pixel"),
  ], [1, 2, 11, 9]],
  ["linear asymmetric ×3", { scales: [1, 1, 3, 3] }, [
    string("mode", "linear"),
    string("coordinate_transformation_mode", "asymmetric"),
  ], [1, 1, 4, 5]],
];

for (const [name, input, attrs, dims] of resizeCases) {
  Deno.test(`tfjs-wasm Resize ${name}`, async () => {
    await compareEngines(
      opGraph(dims[1], (g, x) => {
        const roi = addTensor(g, "roi", [], [0]);
        const args = "scales" in input
          ? [x, roi, addTensor(g, "scales", input.scales, [4])]
          : [x, roi, "", addTensor(g, "sizes", input.sizes, [4], 7)];
        return g.node("Resize", args, attrs);
      }),
      dims,
    );
  });
}

Deno.test("tfjs-wasm Add/Mul with broadcast constants, Add of two activations, Concat axis -3", async () => {
  await compareEngines(
    opGraph(3, (g, x) => {
      const perChannel = addTensor(g, "c", [0.5, -1, 2], [3, 1, 1]);
      const scalar = addTensor(g, "s", [1.5], []);
      const row = addTensor(g, "r", [1, 2, 3, 4, 5, 6, 7], [7]);
      const a = g.node("Add", [x, perChannel]);
      const m = g.node("Mul", [scalar, a]);
      const r = g.node("Add", [m, row]);
      const both = g.node("Add", [r, g.node("Mul", [x, x])]);
      return g.node("Concat", [both, x], [int("axis", -3)]);
    }),
    [1, 3, 5, 7],
  );
});

Deno.test("tfjs-wasm standalone BatchNormalization, LeakyRelu, Sigmoid, Relu, Identity", async () => {
  await compareEngines(
    opGraph(4, (g, x) => {
      const b = bn(g, x, 4);
      const l = g.node("LeakyRelu", [b], [float("alpha", 0.1)]);
      const s = g.node("Sigmoid", [g.node("Identity", [x])]);
      return g.node("Concat", [l, s, g.node("Relu", [x])], [int("axis", 1)]);
    }),
    [1, 4, 6, 5],
  );
});

function quantizedConv(g: GraphBuilder, x: string, perChannel: boolean, signed: boolean): string {
  const cout = 4, cin = 3;
  const w = Array.from({ length: cout * cin * 9 }, (_, i) => ((i * 37) % 255) - 127);
  const wq = addTensor(g, "w_q", w, [cout, cin, 3, 3], 3);
  const ws = addTensor(
    g,
    "w_s",
    perChannel ? [0.002, 0.004, 0.001, 0.003] : [0.003],
    perChannel ? [cout] : [],
  );
  const wz = addTensor(g, "w_z", perChannel ? [0, 3, -2, 1] : [0], perChannel ? [cout] : [], 3);
  const wf = g.node("DequantizeLinear", [wq, ws, wz], [int("axis", 0)]);
  // Activations: Q/DQ with an 8-bit zero point (uint8 or int8).
  const xs = addTensor(g, "x_s", [0.0078], []);
  const xz = addTensor(g, "x_z", [signed ? -3 : 128], [], signed ? 3 : 2);
  const xq = g.node("DequantizeLinear", [g.node("QuantizeLinear", [x, xs, xz]), xs, xz]);
  const b = g.randomTensor([cout], 10, "b");
  return g.node("Conv", [xq, wf, b], [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1])]);
}

Deno.test("tfjs-wasm QDQ: per-tensor int8 weights, uint8 activations", async () => {
  await compareEngines(opGraph(3, (g, x) => quantizedConv(g, x, false, false)), [1, 3, 9, 10], {
    lo: -1.2,
    hi: 1.2,
  });
});

Deno.test("tfjs-wasm QDQ: per-channel int8 weights with zero points, int8 activations", async () => {
  await compareEngines(opGraph(3, (g, x) => quantizedConv(g, x, true, true)), [1, 3, 9, 10], {
    lo: -1.2,
    hi: 1.2,
  });
});

Deno.test("tfjs-wasm QDQ: per-channel quantization of an activation along axis 1", async () => {
  await compareEngines(
    opGraph(3, (g, x) => {
      const s = addTensor(g, "s", [0.01, 0.02, 0.005], [3]);
      const z = addTensor(g, "z", [120, 128, 135], [3], 2);
      return g.node("DequantizeLinear", [
        g.node("QuantizeLinear", [x, s, z], [int("axis", 1)]),
        s,
        z,
      ], [int("axis", 1)]);
    }),
    [1, 3, 6, 7],
    { lo: -1.5, hi: 1.5 },
  );
});

Deno.test("tfjs-wasm QDQ: int32 bias through DequantizeLinear (as tools/quantize writes it)", async () => {
  await compareEngines(
    opGraph(3, (g, x) => {
      const w = addTensor(
        g,
        "w",
        Array.from({ length: 2 * 3 * 9 }, (_, i) => ((i * 53) % 200) - 100),
        [2, 3, 3, 3],
        3,
      );
      const ws = addTensor(g, "ws", [0.01, 0.02], [2]);
      const bq = addTensor(g, "bq", [1234, -56789], [2], 6);
      const bs = addTensor(g, "bs", [0.0001, 0.0002], [2]);
      const bias = g.node("DequantizeLinear", [bq, bs], [int("axis", 0)]);
      return g.node("Conv", [x, g.node("DequantizeLinear", [w, ws], [int("axis", 0)]), bias], [
        ints("kernel_shape", [3, 3]),
      ]);
    }),
    [1, 3, 8, 9],
  );
});

Deno.test("tfjs-wasm Conv reading a channel Concat (3 parts, stride 2, fused Relu), and a Concat read twice", async () => {
  await compareEngines(
    opGraph(3, (g, x) => {
      const a = conv(g, x, 3, 2, [1, 1], []);
      const b = conv(g, x, 3, 5, [3, 3], [ints("pads", [1, 1, 1, 1])]);
      const cat = g.node("Concat", [a, x, b], [int("axis", 1)]);
      return g.node("Relu", [
        conv(g, cat, 10, 4, [3, 3], [ints("strides", [2, 2]), ints("pads", [1, 0, 1, 1])]),
      ]);
    }),
    [1, 3, 11, 9],
  );
  await compareEngines(
    opGraph(3, (g, x) => {
      const cat = g.node("Concat", [x, g.relu(x)], [int("axis", 1)]);
      return g.node("Add", [
        conv(g, cat, 6, 2, [3, 3], [ints("pads", [1, 1, 1, 1])]),
        conv(g, cat, 6, 2, [1, 1], []),
      ]);
    }),
    [1, 3, 7, 8],
  );
});
