/**
 * Changing a model repository under a running server, as an operator would: write a
 * version folder (atomically: a hidden folder renamed into place, or in place), corrupt
 * a file, remove a version.
 *
 * @module
 */
import { join } from "node:path";
import { unetModel } from "../../lib/onnx_builder.ts";
import { fixtureCard } from "./model_repo.ts";

/** Writes `<root>/<name>/<version>` with a builder U-Net of `seed`; `atomic` renames a hidden folder into place. */
export async function writeVersion(
  root: string,
  name: string,
  version: string,
  options: { seed?: number; atomic?: boolean; onnx?: Uint8Array; card?: string } = {},
): Promise<void> {
  const final = join(root, name, version);
  const dir = options.atomic ? join(root, name, `.incoming-${version}`) : final;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(
    join(dir, "model.onnx"),
    options.onnx ?? unetModel({ width: 2, depth: 2, seed: options.seed ?? 3 }),
  );
  await Deno.writeTextFile(
    join(dir, "model.json"),
    options.card ?? JSON.stringify(fixtureCard(name, version)),
  );
  if (options.atomic) await Deno.rename(dir, final);
}

/** Removes a version folder. */
export async function removeVersion(root: string, name: string, version: string): Promise<void> {
  await Deno.remove(join(root, name, version), { recursive: true });
}
