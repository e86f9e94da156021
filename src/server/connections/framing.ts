/**
 * Where each HTTP/1.1 request begins and ends in a client's byte stream, for the TCP front
 * (front.ts): the front tags every request head after its request line, times heads, and must
 * not read a body as a head. So it follows the framing of RFC 9112: blank lines before a
 * request line are skipped (§2.2), lines may end in a bare LF, and a body is `Content-Length`
 * bytes or chunks up to the last chunk and its trailers (§6, §7.1). Nothing else of the head is
 * interpreted; a framing it cannot follow (another transfer coding, a malformed length or chunk
 * size) makes the stream opaque: no more tags, so Deno.serve refuses what follows, as it refuses
 * the malformed request itself.
 *
 * Written here because no HTTP library exposes a request parser that hands back byte offsets
 * in a raw stream (hyper's parser is behind Deno.serve; node's llhttp is not exposed in Deno).
 *
 * @module
 */

/** Longest request head (request line + headers) relayed. */
export const MAX_HEAD_BYTES = 32 * 1024;
/** Longest chunk-size or trailer line followed; longer is opaque. */
const MAX_CHUNK_LINE = MAX_HEAD_BYTES;

const LF = 10, CR = 13;
const LATIN1 = new TextDecoder("latin1");

/** What one {@link RequestFraming.feed} found. */
export interface FeedResult {
  /** offsets in the fed bytes just after a request line: where the front puts its tag */
  tags: number[];
  /** request heads that ended in the fed bytes (their requests are now the server's) */
  heads: number;
  /** a head over {@link MAX_HEAD_BYTES}: its request line too (`line`) or its headers */
  tooLarge?: "line" | "head";
}

type State = "head" | "body" | "chunk-size" | "chunk-data" | "chunk-end" | "trailers" | "opaque";

/** Follows one connection's requests, fed its bytes in order. */
export class RequestFraming {
  #state: State = "head";
  /** head: bytes of this head so far (leading blank lines included), the current line's (no CR) */
  #headBytes = 0;
  #lineBytes = 0;
  #requestLineBytes = -1;
  /** the head's header lines (after the request line), to read its body's framing */
  #fields: number[] = [];
  /** body or chunk data still to come */
  #remaining = 0;
  #chunkLine: number[] = [];
  /** heads ended so far */
  #heads = 0;

  /** Between requests: no byte of a next request line yet (blank lines may have come). */
  get idle(): boolean {
    return this.#state === "head" && !this.inHead;
  }

  /** A request line has begun and its head not ended (the front's header timeout runs). */
  get inHead(): boolean {
    return this.#state === "head" && (this.#requestLineBytes >= 0 || this.#lineBytes > 0);
  }

  /** The framing could not be followed: the rest of the stream is the server's to refuse. */
  get opaque(): boolean {
    return this.#state === "opaque";
  }

  /** A body (or its chunks and trailers) is still arriving. */
  get inBody(): boolean {
    return this.#state !== "head" && this.#state !== "opaque";
  }

  /** Consumes the next bytes of the stream. */
  feed(bytes: Uint8Array): FeedResult {
    const tags: number[] = [];
    const heads = this.#heads;
    let i = 0;
    while (i < bytes.length) {
      switch (this.#state) {
        case "opaque":
          return { tags, heads: this.#heads - heads };
        case "head": {
          const b = bytes[i++];
          if (++this.#headBytes > MAX_HEAD_BYTES) {
            const line = this.#requestLineBytes < 0 || this.#requestLineBytes > MAX_HEAD_BYTES / 2;
            this.#state = "opaque";
            return { tags, heads: this.#heads - heads, tooLarge: line ? "line" : "head" };
          }
          if (b === LF) this.#endHeadLine(tags, i);
          else if (b !== CR) this.#lineBytes++;
          if (this.#requestLineBytes >= 0 && this.#state === "head") this.#fields.push(b);
          break;
        }
        case "body":
        case "chunk-data": {
          const take = Math.min(this.#remaining, bytes.length - i);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = this.#state === "body" ? "head" : "chunk-end";
          break;
        }
        case "chunk-end": {
          const b = bytes[i++];
          if (b === LF) this.#state = "chunk-size";
          else if (b !== CR) this.#state = "opaque";
          break;
        }
        case "chunk-size":
        case "trailers": {
          const b = bytes[i++];
          if (b !== LF) {
            if (b !== CR) this.#chunkLine.push(b);
            if (this.#chunkLine.length > MAX_CHUNK_LINE) this.#state = "opaque";
            break;
          }
          const line = String.fromCharCode(...this.#chunkLine);
          this.#chunkLine = [];
          if (this.#state === "trailers") {
            if (line === "") this.#state = "head"; // the request is complete
            break;
          }
          const size = /^0*([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
          if (!size) this.#state = "opaque";
          else if ((this.#remaining = parseInt(size[1], 16)) === 0) this.#state = "trailers";
          else this.#state = "chunk-data";
          break;
        }
      }
    }
    return { tags, heads: this.#heads - heads };
  }

  /** A line of the head ended at `end` (just after its LF). */
  #endHeadLine(tags: number[], end: number) {
    const empty = this.#lineBytes === 0;
    this.#lineBytes = 0;
    if (this.#requestLineBytes < 0) {
      if (empty) return; // a blank line before the request line: skipped
      this.#requestLineBytes = this.#headBytes;
      tags.push(end);
      return;
    }
    if (!empty) return;
    this.#heads++;
    this.#startBody(LATIN1.decode(Uint8Array.from(this.#fields)));
    this.#headBytes = 0;
    this.#requestLineBytes = -1;
    this.#fields = [];
  }

  /** The head's header fields (latin1) ended: what its body is. */
  #startBody(fields: string) {
    let coding: string | undefined, length: string | undefined;
    for (const line of fields.split("\n")) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "transfer-encoding") coding = coding ? `${coding}, ${value}` : value;
      else if (name === "content-length") length = length ? `${length}, ${value}` : value;
    }
    if (coding !== undefined) {
      this.#state = /(^|,)\s*chunked$/i.test(coding) ? "chunk-size" : "opaque";
      return;
    }
    if (length === undefined) return; // no body
    const values = new Set(length.split(",").map((v) => v.trim()));
    const [only] = values;
    // leading zeros allowed (as hyper allows them); a length past 2^53 is not followed
    if (values.size !== 1 || !/^0*\d{1,15}$/.test(only)) {
      this.#state = "opaque";
      return;
    }
    this.#remaining = Number(only);
    if (this.#remaining > 0) this.#state = "body";
  }
}
