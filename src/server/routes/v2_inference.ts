/**
 * Open Inference Protocol (KServe V2) routes: server and model metadata, health and
 * readiness, and `infer` with JSON tensors or the binary tensor extension.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ApiError } from "../../errors.ts";
import type { ModelVersion } from "../../models/model_version.ts";
import { REGISTRY_STATES } from "../../models/registry.ts";
import type { AppContext } from "../context.ts";
import type { AppEnv } from "../env.ts";
import { errorResponses, NameParam, openApiApp, VersionParam } from "../openapi_app.ts";
import {
  binary,
  V2InferRequestSchema,
  V2InferResponseSchema,
  V2ModelMetadataSchema,
} from "../openapi_schemas.ts";
import { encodeV2Response, INFERENCE_HEADER } from "../v2_tensors.ts";
import { requestSignal } from "../request_signal.ts";
import type { QueueTicket } from "../../models/queue.ts";
import { admit, readBody } from "../../serving/admission.ts";
import { releaseNow, releaseWhenSent } from "../../memory/release.ts";
import { largeWork } from "../../memory/keeper.ts";
import { SERVER_INFO } from "../server_info.ts";
import { readRequestBytes } from "../read_body.ts";

/**
 * A body from this size runs as large work (src/memory/keeper.ts): its body, output and other
 * large buffers are mapped on their own and returned to the system as soon as they are freed
 * (the tiles' activations stay in a native session's arena: one tile's worth).
 */
const LARGE_BODY_BYTES = 8 * 2 ** 20;

/** V2 model metadata. */
export function modelMetadata(mv: ModelVersion, versions: string[]) {
  const { input, output } = mv.card;
  return {
    name: mv.name,
    versions,
    platform: "onnx_onnxv1",
    inputs: [{
      name: input.name,
      datatype: "FP32",
      shape: [1, input.channels, input.height ?? -1, input.width ?? -1],
    }],
    outputs: [{
      name: output.name,
      datatype: "FP32",
      shape: [1, 1, input.height ?? -1, input.width ?? -1],
    }],
  };
}

/** Checks an input tensor against the model's card. */
function checkInput(mv: ModelVersion, name: string, dims: number[]) {
  const spec = mv.card.input;
  if (name !== spec.name) {
    throw new ApiError(
      "bad_request",
      `model ${mv.name} has no input "${name.slice(0, 40)}"; its input is "${spec.name}"`,
    );
  }
  const [n, c, h, w] = dims;
  if (dims.length !== 4 || n !== 1 || c !== spec.channels) {
    throw new ApiError(
      "invalid_tensor",
      `input "${name}" must have shape [1, ${spec.channels}, H, W]; got [${dims}]`,
    );
  }
  if (spec.height !== null && (h !== spec.height || w !== spec.width)) {
    throw new ApiError(
      "invalid_tensor",
      `input "${name}" must be [1, ${spec.channels}, ${spec.height}, ${spec.width}]; got [${dims}]`,
    );
  }
  if (
    spec.height === null &&
    (h === 0 || w === 0 || h % spec.pad_multiple !== 0 || w % spec.pad_multiple !== 0)
  ) {
    throw new ApiError(
      "invalid_tensor",
      `input "${name}": H and W must be positive multiples of ${spec.pad_multiple}; got ${h}×${w}`,
    );
  }
}

const json = (description: string, schema: z.ZodType) => ({
  description,
  content: { "application/json": { schema } },
});
const nameParams = z.object({ name: NameParam });
const versionParams = z.object({ name: NameParam, version: VersionParam });
type ModelParams = typeof nameParams | typeof versionParams;
/** Model routes come twice: for the latest version (`nameParams`) and for one (`versionParams`). */
const isVersioned = (params: ModelParams) => params === versionParams;

const serverRoute = createRoute({
  method: "get",
  path: "/v2",
  tags: ["v2"],
  summary: "Server metadata",
  responses: {
    200: json(
      "server name, version and extensions",
      z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) }),
    ),
    ...errorResponses([]),
  },
});
const liveRoute = createRoute({
  method: "get",
  path: "/v2/health/live",
  tags: ["v2"],
  summary: "Liveness: the process answers",
  responses: { 200: json("live", z.object({ live: z.boolean() })), ...errorResponses([]) },
});
const readyBody = z.object({
  ready: z.boolean(),
  state: z.enum(REGISTRY_STATES),
  /** `TINYUNET_READY`: all (strict) or default-model */
  mode: z.enum(["all", "default-model"]),
  /** versions whose load failed, with the reason */
  failed: z.array(z.object({ name: z.string(), version: z.string(), reason: z.string() })),
  error: z.string().optional(),
});
const serverReadyRoute = createRoute({
  method: "get",
  path: "/v2/health/ready",
  tags: ["v2"],
  summary:
    "Readiness: every model in the repository loaded and warm (TINYUNET_READY=default-model: the default model)",
  responses: {
    200: json("ready", readyBody),
    503: json(
      "still loading, a model failed to load (strict mode), nothing loaded, or draining for shutdown",
      readyBody,
    ),
    ...errorResponses([]),
  },
});
const modelMetaRoute = <P extends ModelParams>(params: P) => {
  const versioned = isVersioned(params);
  return createRoute({
    method: "get",
    path: versioned ? "/v2/models/{name}/versions/{version}" : "/v2/models/{name}",
    tags: ["v2"],
    summary: versioned ? "Metadata of one model version" : "Model metadata (latest version)",
    request: { params },
    responses: {
      200: json("model metadata", V2ModelMetadataSchema),
      ...errorResponses(["model_not_found", "model_not_ready"]),
    },
  });
};
const modelReadyRoute = <P extends ModelParams>(params: P) => {
  const versioned = isVersioned(params);
  return createRoute({
    method: "get",
    path: versioned ? "/v2/models/{name}/versions/{version}/ready" : "/v2/models/{name}/ready",
    tags: ["v2"],
    summary: versioned ? "Readiness of one model version" : "Model readiness (latest version)",
    request: { params },
    responses: {
      200: json("ready", z.object({ name: z.string(), version: z.string(), ready: z.boolean() })),
      ...errorResponses(["model_not_found", "model_not_ready"]),
    },
  });
};
const inferRoute = <P extends ModelParams>(params: P) => {
  const versioned = isVersioned(params);
  return createRoute({
    method: "post",
    path: versioned ? "/v2/models/{name}/versions/{version}/infer" : "/v2/models/{name}/infer",
    tags: ["v2"],
    summary: versioned
      ? "Run one model version on FP32 tensors"
      : "Run a model (latest version) on FP32 tensors",
    description:
      "Open Inference Protocol. JSON tensors, or the binary tensor data extension: a JSON header of " +
      "`Inference-Header-Content-Length` bytes followed by the raw little-endian tensors named by `binary_data_size`.",
    request: {
      params,
      headers: z.object({
        "inference-header-content-length": z.string().optional().openapi({
          description: "binary extension: length of the JSON header",
        }),
      }),
      body: {
        required: true,
        content: {
          // a $ref, not the zod schema: the body is parsed by parseV2Request (binary framing, tensor checks)
          "application/json": { schema: { $ref: "#/components/schemas/V2InferRequest" } },
          "application/octet-stream": {
            schema: binary("binary extension: JSON header then tensor bytes"),
          },
        },
      },
    },
    responses: {
      200: {
        description: "the output tensor (JSON, or JSON header + binary data when asked for)",
        content: {
          "application/json": { schema: V2InferResponseSchema },
          "application/octet-stream": {
            schema: binary(
              "JSON header of Inference-Header-Content-Length bytes, then the binary tensors",
            ),
          },
        },
      },
      ...errorResponses([
        "bad_request",
        "bad_json",
        "model_not_found",
        "too_many_pixels",
        "invalid_tensor",
        "model_not_ready",
        "queue_full",
        "timeout",
      ]),
    },
  });
};

/** The V2 routes. */
export function v2Routes({ registry, config, pipeline }: AppContext): OpenAPIHono<AppEnv> {
  const app = openApiApp();
  app.openAPIRegistry.register("V2InferRequest", V2InferRequestSchema);
  const versionsOf = (name: string) => registry.versions(name).map((v) => v.version);

  app.openapi(serverRoute, (c) => c.json(SERVER_INFO));
  app.openapi(liveRoute, (c) => c.json({ live: true }));
  app.openapi(serverReadyRoute, (c) => {
    const { ready, state, mode, failed } = registry.readiness(config.ready);
    return c.json({
      ready,
      state,
      mode,
      failed: failed.map(({ name, version, reason }) => ({ name, version, reason })),
      ...(registry.error ? { error: registry.error.message } : {}),
    }, ready ? 200 : 503);
  });

  app.openapi(modelMetaRoute(nameParams), (c) => {
    const mv = registry.get(c.req.valid("param").name);
    return c.json(modelMetadata(mv, versionsOf(mv.name)), 200);
  });
  app.openapi(modelMetaRoute(versionParams), (c) => {
    const { name, version } = c.req.valid("param");
    const mv = registry.get(name, version);
    return c.json(modelMetadata(mv, [mv.version]), 200);
  });
  const ready = (mv: ModelVersion) => ({ name: mv.name, version: mv.version, ready: true });
  app.openapi(modelReadyRoute(nameParams), (c) => {
    return c.json(ready(registry.get(c.req.valid("param").name)), 200);
  });
  app.openapi(modelReadyRoute(versionParams), (c) => {
    const { name, version } = c.req.valid("param");
    return c.json(ready(registry.get(name, version)), 200);
  });

  const infer = async (c: Context<AppEnv>, mv: ModelVersion) => {
    const signal = requestSignal(c, config.requestTimeoutMs);
    // admission before the body is read (see src/serving/admission.ts)
    const ticket = await admit(mv, undefined, config.busyDelayMs, signal);
    try {
      const run = () => inferAdmitted(c, mv, ticket, signal);
      const large = Number(c.req.header("content-length") ?? 0) >= LARGE_BODY_BYTES;
      return await (large ? largeWork(run) : run());
    } finally {
      ticket.release();
    }
  };
  const inferAdmitted = async (
    c: Context<AppEnv>,
    mv: ModelVersion,
    ticket: QueueTicket,
    signal: AbortSignal,
  ) => {
    const body = await readBody(() => readRequestBytes(c.req.raw), signal);
    // a large JSON tensor is parsed in a stage worker (the HTTP thread answers meanwhile)
    const request = await pipeline.pool.parseV2(
      { body, headerLength: c.req.header(INFERENCE_HEADER), maxElements: config.maxPixels * 3 },
      signal,
    );
    if (request.inputs.length !== 1) {
      throw new ApiError(
        "bad_request",
        `model ${mv.name} takes 1 input; got ${request.inputs.length}`,
      );
    }
    const [{ name, tensor }] = request.inputs;
    checkInput(mv, name, tensor.dims);
    const outputName = mv.card.output.name;
    for (const o of request.outputs) {
      if (o.name !== outputName) {
        throw new ApiError(
          "bad_request",
          `model ${mv.name} has no output "${o.name.slice(0, 40)}"; its output is "${outputName}"`,
        );
      }
    }
    const { outputs } = await mv.infer({ [name]: tensor }, undefined, signal, ticket);
    // the input tensor was a view of the body (or its own, parsed in a worker); the run is done
    releaseNow(body.buffer, tensor.data.buffer);
    const binary = request.binaryOutput || request.outputs.some((o) => o.binary);
    const output = outputs[outputName];
    const meta = { model_name: mv.name, model_version: mv.version, id: request.id };
    if (!binary) {
      // a large answer is written in a stage worker (the tensor moves there)
      const json = await pipeline.pool.encodeV2Json(
        { meta, outputs: [{ name: outputName, tensor: output }] },
        signal,
      );
      releaseNow(output.data.buffer); // the JSON holds a copy (if it did not move)
      return c.body(json, 200, { "Content-Type": "application/json" });
    }
    const { body: out, headers } = encodeV2Response(meta, [
      { name: outputName, tensor: output, binary },
    ]);
    releaseWhenSent(c.env?.completed, output.data.buffer); // streamed from it
    return c.body(out, 200, headers);
  };
  app.openapi(inferRoute(nameParams), (c) => infer(c, registry.get(c.req.valid("param").name)));
  app.openapi(inferRoute(versionParams), (c) => {
    const { name, version } = c.req.valid("param");
    return infer(c, registry.get(name, version));
  });
  return app;
}
