/**
 * Gets the image bytes out of a request: a multipart form field `image` (or `file`), or a
 * raw body whose Content-Type names the format.
 *
 * @module
 */
import type { Context } from "hono";
import { ApiError } from "../errors.ts";
import { readRequestBytes } from "./read_body.ts";

/** An uploaded image before decoding. */
export interface UploadedImage {
  bytes: Uint8Array;
  /** the declared media type (part or body Content-Type) */
  mediaType: string;
  /** the uploaded file name, if any */
  fileName?: string;
}

/**
 * Reads the image from a request.
 * @throws {ApiError} 400 for malformed multipart or a missing field
 */
export async function readImage(c: Context): Promise<UploadedImage> {
  const contentType = c.req.header("content-type") ?? "";
  if (contentType.toLowerCase().startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await c.req.raw.formData();
    } catch (err) {
      throw new ApiError("bad_request", `malformed multipart body: ${(err as Error).message}`);
    }
    const field = form.get("image") ?? form.get("file");
    if (field === null) throw new ApiError("bad_request", 'multipart body has no "image" field');
    if (typeof field === "string") {
      throw new ApiError("bad_request", '"image" field must be a file upload, not text');
    }
    return {
      bytes: new Uint8Array(await field.arrayBuffer()),
      mediaType: field.type,
      fileName: field.name,
    };
  }
  return { bytes: await readRequestBytes(c.req.raw), mediaType: contentType };
}
