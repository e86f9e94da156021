/**
 * `deno task build:kernels`: builds the direct engine's kernel library for this platform
 * where the server looks for it (`TINYUNET_KERNELS_DIR`, else the cache folder), so that a
 * server without a C compiler or the permission to run one (the systemd unit, the container
 * image) finds it. Prints its path; exits 1 with the reason when it cannot be built.
 *
 * @module
 */
import { buildKernels } from "../src/engines/direct/kernels.ts";

if (import.meta.main) {
  const result = await buildKernels();
  if ("reason" in result) {
    console.error(`build:kernels: ${result.reason}`);
    Deno.exit(1);
  }
  console.log(`${result.built ? "built" : "already built"}: ${result.path}`);
}
