/**
 * A full garbage collection of the calling isolate, on demand. V8 collects on its own
 * schedule; after start-up (module graphs, model bytes, warm-up tensors in every isolate)
 * its memory reducer gives the garbage back only ~30 s after the server is ready, and the
 * RSS a clinic box sees at ready is that much higher until then.
 *
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

let gc: (() => void) | undefined;

/**
 * Runs a full GC of this isolate (V8's `gc`, exposed through node:v8 flags once); returns
 * the used heap before and after, in bytes.
 */
export function collectGarbage(): { before: number; after: number } {
  if (!gc) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as () => void;
  }
  const before = v8.getHeapStatistics().used_heap_size;
  gc();
  return { before, after: v8.getHeapStatistics().used_heap_size };
}
