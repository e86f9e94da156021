/**
 * Open Inference Protocol (KServe V2) routes: server and model metadata, health and
 * readiness, and `infer` with JSON tensors or the binary tensor extension.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { ApiError } from "../../errors.ts";
import type { ModelVersion } from "../../models/model_version.ts";
import type { AppContext } from "../context.ts";
import { encodeV2Response, INFERENCE_HEADER, parseV2Request } from "../v2_tensors.ts";

/** Server name and version reported by `GET /v2`. */
export const SERVER_INFO = { name: "tinyunet-edge", version: "0.1.0", extensions: ["binary_tensor_data"] };

/** V2 model metadata. */
export function modelMetadata(mv: ModelVersion, versions: string[]) {
  const { input, output } = mv.card;
  return {
    name: mv.name,
    versions,
    platform: "onnx_onnxv1",
    inputs: [{ name: input.name, datatype: "FP32", shape: [1, input.channels, input.height ?? -1, input.width ?? -1] }],
    outputs: [{ name: output.name, datatype: "FP32", shape: [1, 1, input.height ?? -1, input.width ?? -1] }],
  };
}

/** Checks an input tensor against the model's card. */
function checkInput(mv: ModelVersion, name: string, dims: number[]) {
  const spec = mv.card.input;
  if (name !== spec.name) throw new ApiError("bad_request", `model ${mv.name} has no input "${name.slice(0, 40)}"; its input is "${spec.name}"`);
  const [n, c, h, w] = dims;
  if (dims.length !== 4 || n !== 1 || c !== spec.channels) {
    throw new ApiError("invalid_tensor", `input "${name}" must have shape [1, ${spec.channels}, H, W]; got [${dims}]`);
  }
  if (spec.height !== null && (h !== spec.height || w !== spec.width)) {
    throw new ApiError("invalid_tensor", `input "${name}" must be [1, ${spec.channels}, ${spec.height}, ${spec.width}]; got [${dims}]`);
  }
  if (spec.height === null && (h === 0 || w === 0 || h % spec.pad_multiple !== 0 || w % spec.pad_multiple !== 0)) {
    throw new ApiError("invalid_tensor", `input "${name}": H and W must be positive multiples of ${spec.pad_multiple}; got ${h}×${w}`);
  }
}

/** The V2 routes. */
export function v2Routes({ registry, config }: AppContext): Hono {
  const app = new Hono();
  const versionsOf = (name: string) => registry.versions(name).map((v) => v.version);

  app.get("/v2", (c) => c.json(SERVER_INFO));
  app.get("/v2/health/live", (c) => c.json({ live: true }));
  app.get("/v2/health/ready", (c) => {
    const ready = registry.state === "ready";
    return c.json({ ready, state: registry.state, ...(registry.error ? { error: registry.error.message } : {}) }, ready ? 200 : 503);
  });

  app.get("/v2/models/:name", (c) => {
    const mv = registry.get(c.req.param("name"));
    return c.json(modelMetadata(mv, versionsOf(mv.name)));
  });
  app.get("/v2/models/:name/versions/:version", (c) => {
    const mv = registry.get(c.req.param("name"), c.req.param("version"));
    return c.json(modelMetadata(mv, [mv.version]));
  });
  const ready = (c: Context, version?: string) => {
    const mv = registry.get(c.req.param("name"), version);
    return c.json({ name: mv.name, version: mv.version, ready: true });
  };
  app.get("/v2/models/:name/ready", (c) => ready(c));
  app.get("/v2/models/:name/versions/:version/ready", (c) => ready(c, c.req.param("version")));

  const infer = async (c: Context, version?: string) => {
    const mv = registry.get(c.req.param("name"), version);
    const body = new Uint8Array(await c.req.arrayBuffer());
    const request = parseV2Request(body, c.req.header(INFERENCE_HEADER), config.maxPixels * 3);
    if (request.inputs.length !== 1) throw new ApiError("bad_request", `model ${mv.name} takes 1 input; got ${request.inputs.length}`);
    const [{ name, tensor }] = request.inputs;
    checkInput(mv, name, tensor.dims);
    const outputName = mv.card.output.name;
    for (const o of request.outputs) {
      if (o.name !== outputName) throw new ApiError("bad_request", `model ${mv.name} has no output "${o.name.slice(0, 40)}"; its output is "${outputName}"`);
    }
    const { outputs } = await mv.infer({ [name]: tensor }, undefined, AbortSignal.timeout(config.requestTimeoutMs));
    const binary = request.binaryOutput || request.outputs.some((o) => o.binary);
    const { body: out, headers } = encodeV2Response(
      { model_name: mv.name, model_version: mv.version, id: request.id },
      [{ name: outputName, tensor: outputs[outputName], binary }],
    );
    return c.body(out as string, 200, headers);
  };
  app.post("/v2/models/:name/infer", (c) => infer(c));
  app.post("/v2/models/:name/versions/:version/infer", (c) => infer(c, c.req.param("version")));
  return app;
}
