/**
 * `multipart/related` bodies of DICOMweb (PS3.18 8.6.1.2): splitting a STOW-RS request
 * into its parts and writing one for STOW-RS out and WADO-RS answers. Written here
 * because neither Hono nor the Fetch API parse `multipart/related` (only form-data), and
 * the format is a boundary search over bytes.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
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

/**
 * The first index of `needle` in `hay` at or after `from`, or -1: Knuth-Morris-Pratt, so
 * linear in the body whatever the boundary (a plain scan is bytes × boundary length on a
 * body of near-delimiters: seconds of blocked event loop at 32 MB), with the native byte
 * search skipping ahead while no prefix is matched.
 */
function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const fail = new Int32Array(needle.length);
  for (let i = 1, k = 0; i < needle.length; i++) {
    while (k > 0 && needle[i] !== needle[k]) k = fail[k - 1];
    if (needle[i] === needle[k]) k++;
    fail[i] = k;
  }
  const n = needle.length;
  let k = 0;
  for (let i = from; i < hay.length; i++) {
    if (k === 0) {
      i = hay.indexOf(needle[0], i);
      if (i === -1) return -1;
      k = 1;
    } else {
      const b = hay[i];
      while (k > 0 && b !== needle[k]) k = fail[k - 1];
      if (b === needle[k]) k++;
    }
    if (k === n) return i - n + 1;
  }
  return -1;
}

/** A part's header section is looked for in its first bytes only. */
const MAX_HEADER_BYTES = 16 * 1024;
const CRLF2 = encoder.encode("\r\n\r\n");
const LF2 = encoder.encode("\n\n");

/**
 * Where a part's header section ends and how long the blank line after it is: none when
 * the part starts with the blank line (RFC 2046: no headers), else the first blank line
 * (CRLF or bare LF) among the first {@link MAX_HEADER_BYTES}; -1 when there is none there.
 */
function headerSection(part: Uint8Array): [number, number] {
  if (part[0] === 0x0d && part[1] === 0x0a) return [0, 2];
  if (part[0] === 0x0a) return [0, 1];
  const head = part.subarray(0, MAX_HEADER_BYTES);
  const crlf = indexOf(head, CRLF2, 0);
  const lf = indexOf(head, LF2, 0);
  if (lf !== -1 && (crlf === -1 || lf < crlf)) return [lf, 2];
  return [crlf, 4];
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
    const [headerEnd, skip] = headerSection(part);
    if (headerEnd === -1) {
      throw new ApiError(
        "bad_request",
        `part ${parts.length + 1} has no header end within ${MAX_HEADER_BYTES} bytes`,
      );
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
  return {
    body: concatBytes(chunks),
    contentType: `multipart/related; type="${type}"; boundary=${boundary}`,
  };
}
