/**
 * The OpenAPI 3.1 document of the whole app, generated from the `createRoute` definitions
 * that the route modules register (merged into the root app by `app.route`).
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { finishDocument } from "./openapi_finish.ts";
import { SERVER_INFO } from "./server_info.ts";

/** The document's top-level fields. */
export const DOCUMENT_CONFIG = {
  openapi: "3.1.0",
  info: {
    title: "TinyUnet Edge",
    version: SERVER_INFO.version,
    description:
      "Binary medical image segmentation (U-Net students, ONNX). Send a PNG, JPEG or DICOM (uncompressed or JPEG, JPEG-LS, JPEG 2000, HTJ2K, RLE); " +
      "get a mask PNG, JSON measurements, an overlay or a DICOM Segmentation. Errors are `{error, code}` JSON with a " +
      "stable `code`. Research use only: not a medical device.",
    license: { name: "see the repository" },
  },
  tags: [
    { name: "segment", description: "image in, segmentation out" },
    { name: "models", description: "served models and their cards" },
    { name: "v2", description: "Open Inference Protocol (KServe V2)" },
    { name: "ui", description: "the browser page and this documentation" },
  ],
};

/**
 * The OpenAPI 3.1 document of an app whose routes were all declared with `createRoute`,
 * with security, shared errors and operation ids added (`openapi_finish.ts`).
 * @param origin the server's origin, for `servers`
 */
export function openApiDocument(
  app: Pick<OpenAPIHono, "getOpenAPI31Document">,
  origin?: string,
): Record<string, unknown> {
  return finishDocument(
    app.getOpenAPI31Document(DOCUMENT_CONFIG) as unknown as Record<string, unknown>,
    origin,
  );
}
