/**
 * Frees large buffers a request is done with now, instead of at V8's next full garbage
 * collection: `ArrayBuffer.prototype.transfer(0)` moves the (no) bytes into a new empty
 * buffer and releases the old backing store at once. A V2 request with a 30 MB tensor left
 * its body and output (~40 MB) resident until a collection that, on an idle server, may be
 * minutes away. Only for buffers nothing else references.
 *
 * @module
 */

/** Buffers below this are left to the collector (freeing them early gains nothing). */
const MIN_BYTES = 1 << 20;

/** Releases each buffer's memory now (large, detachable, not shared ones); never throws. */
export function releaseNow(...buffers: ArrayBufferLike[]): void {
  for (const b of buffers) {
    if (b instanceof ArrayBuffer && b.byteLength >= MIN_BYTES) detach(b);
  }
}

/**
 * Releases a response's buffers once the HTTP layer says it has sent them (`sent`: Deno.serve's
 * `completed`, which also settles when the client went away; the layer then holds no view of
 * them). Without that word (a response read in process, by `app.request` or a platform's
 * fetch that keeps the chunks it was handed) the buffers are left to the collector: the
 * reader may still hold views of them.
 */
export function releaseWhenSent(
  sent: Promise<void> | undefined,
  ...buffers: ArrayBufferLike[]
): void {
  const release = () => releaseNow(...buffers);
  sent?.then(release, release);
}

/**
 * Releases the memory of a copied stream chunk now, whatever its size (a 30 MB body arrives as
 * ~500 chunks of 64 KiB that would otherwise wait for a collection). Only a chunk that is its
 * whole buffer is released; a view into a larger buffer is left alone.
 */
export function releaseChunk(chunk: Uint8Array): void {
  const b = chunk.buffer;
  if (b instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === b.byteLength) {
    detach(b);
  }
}

function detach(b: ArrayBuffer) {
  if (b.detached) return;
  try {
    b.transfer(0);
  } catch { /* not detachable (a native add-on's buffer): the collector frees it */ }
}
