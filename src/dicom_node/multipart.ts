/**
 * `multipart/related` bodies of DICOMweb (PS3.18 8.6.1.2): splitting a STOW-RS request
 * into its parts and writing one for STOW-RS out and WADO-RS answers. Written here
 * because neither Hono nor the Fetch API parse `multipart/related` (only form-data), and
 * the format is a boundary search over bytes.
 *
 * @module
 */
import { ApiError } from "../errors.ts";

/** One body part. */
export interface Part {
  contentType: string;
  bytes: Uint8Array;
}

/** The parameters of a `Content-Type` value (lower-cased names, unquoted values). */
export function mediaParams(header: string): { type: string; params: Record<string, string> } {
  const [type, ...rest] = header.split(";");
  const params: Record<string, string> = {};
  const re = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/y;
  const text = rest.join(";");
  for (const piece of text.split(/;(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    re.lastIndex = 0;
    const m = re.exec(piece);
    if (m) params[m[1].toLowerCase()] = m[2].trim().replace(/^"|"$/g, "").replace(/\\(.)/g, "$1");
  }
  return { type: type.trim().toLowerCase(), params };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("latin1");

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  outer: for (
    let i = hay.indexOf(first, from);
    i !== -1 && i <= hay.length - needle.length;
    i = hay.indexOf(first, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Splits a `multipart/related` body.
 * @param maxParts more parts than this are refused (bounded work per request)
 * @throws {ApiError} `bad_request` for a body that is not a multipart body with this boundary
 */
export function parseMultipart(body: Uint8Array, boundary: string, maxParts = 1000): Part[] {
  if (!boundary || boundary.length > 200) {
    throw new ApiError(
      "bad_request",
      "multipart/related needs a boundary parameter (≤ 200 characters)",
    );
  }
  const delimiter = encoder.encode(`--${boundary}`);
  const parts: Part[] = [];
  let at = indexOf(body, delimiter, 0);
  if (at === -1) throw new ApiError("bad_request", `no part delimiter --${boundary} in the body`);
  while (true) {
    let start = at + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing delimiter
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    else if (body[start] === 0x0a) start += 1;
    const next = indexOf(body, delimiter, start);
    if (next === -1) {
      throw new ApiError("bad_request", "the multipart body has no closing delimiter");
    }
    let end = next;
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    const part = body.subarray(start, end);
    let headerEnd = indexOf(part, encoder.encode("\r\n\r\n"), 0);
    let skip = 4;
    if (headerEnd === -1) {
      headerEnd = indexOf(part, encoder.encode("\n\n"), 0);
      skip = 2;
    }
    if (headerEnd === -1) {
      throw new ApiError("bad_request", `part ${parts.length + 1} has no header end`);
    }
    const headers = decoder.decode(part.subarray(0, headerEnd));
    const ct = /^content-type\s*:\s*(.*)$/im.exec(headers)?.[1]?.trim() ?? "";
    parts.push({ contentType: ct, bytes: part.subarray(headerEnd + skip) });
    if (parts.length > maxParts) throw new ApiError("bad_request", `more than ${maxParts} parts`);
    at = next;
  }
  return parts;
}

/** Writes a `multipart/related` body; returns it with its Content-Type. */
export function writeMultipart(
  parts: Part[],
  type = "application/dicom",
): { body: Uint8Array; contentType: string } {
  const boundary = `tinyunet-${crypto.randomUUID()}`;
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    chunks.push(
      encoder.encode(`--${boundary}\r\nContent-Type: ${p.contentType}\r\n\r\n`),
      p.bytes,
      encoder.encode("\r\n"),
    );
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    body.set(c, o);
    o += c.length;
  }
  return { body, contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}
