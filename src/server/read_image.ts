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
 * Most parts a form may have: the image and a few fields. A form of more is refused before it
 * is parsed (Deno's `formData()` runs on the HTTP thread: a 32 MB form of 600,000 fields held
 * it 2.4-2.7 s).
 */
export const MAX_FORM_PARTS = 16;

/** A multipart Content-Type's `boundary` parameter (RFC 2046: 1-70 characters), or null. */
export function formBoundary(contentType: string): string | null {
  // parameters after the media type: name=token or name="quoted string"
  const params = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  for (const m of contentType.matchAll(params)) {
    if (m[1].toLowerCase() !== "boundary") continue;
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
    return value.length >= 1 && value.length <= 70 ? value : null;
  }
  return null;
}

/**
 * The parts of a multipart body with this boundary: its delimiters (at the start, or after a
 * line break) less the closing one, counted up to `max + 1`. The search is the engine's own
 * string search (linear in the body, whatever the boundary).
 */
export function countFormParts(bytes: Uint8Array, boundary: string, max: number): number {
  const text = new TextDecoder("latin1").decode(bytes);
  const delimiter = `--${boundary}`;
  let delimiters = text.startsWith(delimiter) ? 1 : 0;
  for (let at = text.indexOf(`\n${delimiter}`); at >= 0 && delimiters <= max + 1;) {
    delimiters++;
    at = text.indexOf(`\n${delimiter}`, at + delimiter.length + 1);
  }
  return Math.max(0, delimiters - 1);
}

/**
 * Reads the image from a request.
 * @throws {ApiError} 400 for malformed multipart, a form of over {@link MAX_FORM_PARTS}
 *   parts or a missing field
 */
export async function readImage(c: Context): Promise<UploadedImage> {
  const contentType = c.req.header("content-type") ?? "";
  if (contentType.toLowerCase().startsWith("multipart/form-data")) {
    const boundary = formBoundary(contentType);
    if (!boundary) {
      throw new ApiError("bad_request", "multipart body without a boundary of 1-70 characters");
    }
    const bytes = await readRequestBytes(c.req.raw);
    const parts = countFormParts(bytes, boundary, MAX_FORM_PARTS);
    if (parts > MAX_FORM_PARTS) {
      throw new ApiError(
        "bad_request",
        `multipart body has more than ${MAX_FORM_PARTS} parts; send the image and a few fields`,
      );
    }
    let form: FormData;
    try {
      form = await new Response(bytes, { headers: { "content-type": contentType } }).formData();
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
