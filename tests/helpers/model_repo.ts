/**
 * Test fixtures made in code: temporary model repositories holding small U-Nets written by
 * the ONNX builder, with cards, and a server config pointing at them.
 *
 * @module
 */
import { join } from "node:path";
import { loadConfig, type ServerConfig } from "../../src/config.ts";
import { unetModel, type UnetModelOptions } from "../../lib/onnx_builder.ts";
import { createApp, type TinyUnetServer } from "../../mod.ts";

/** One model version to put in a test repository. */
export interface FixtureModel {
  name: string;
  version?: string;
  /** card fields to override */
  card?: Record<string, unknown>;
  /** builder options for the ONNX (ignored when `onnx` is given) */
  net?: UnetModelOptions;
  onnx?: Uint8Array;
  /** extra files to write in the version folder */
  files?: Record<string, Uint8Array | string>;
}

/** A card for a small dynamic-size model. */
export function fixtureCard(
  name: string,
  version: string,
  channels: 1 | 3 = 3,
): Record<string, unknown> {
  return {
    schema: 1,
    name,
    version,
    title: `test model ${name}`,
    label: "lesion",
    trained: false,
    input: {
      name: "image",
      channels,
      height: null,
      width: null,
      resize: { long_side: 64 },
      pad_multiple: 16,
      mean: Array(channels).fill(0.5),
      std: Array(channels).fill(0.25),
    },
    output: { name: "logits", kind: "logits" },
    threshold: 0.5,
    files: { fp32: "model.onnx" },
  };
}

/** Writes a model repository in a temporary folder and returns its path. */
export async function makeRepo(models: FixtureModel[]): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "tinyunet-repo-" });
  for (const m of models) {
    const version = m.version ?? "1";
    const dir = join(root, m.name, version);
    await Deno.mkdir(dir, { recursive: true });
    const channels = (m.net?.channels ?? 3) as 1 | 3;
    const card = { ...fixtureCard(m.name, version, channels), ...m.card };
    await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(card));
    await Deno.writeFile(
      join(dir, "model.onnx"),
      m.onnx ?? unetModel({ width: 2, depth: 2, seed: 3, ...m.net }),
    );
    for (const [file, content] of Object.entries(m.files ?? {})) {
      const path = join(dir, file);
      if (typeof content === "string") await Deno.writeTextFile(path, content);
      else await Deno.writeFile(path, content);
    }
  }
  return root;
}

/** Server settings for tests: the defaults, with the native engine and small limits. */
export function testConfig(modelsDir: string, overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    ...loadConfig({}),
    port: 0,
    hostname: "127.0.0.1",
    modelsDir,
    engine: "native",
    threads: 1,
    maxBodyBytes: 8 * 1024 * 1024,
    maxPixels: 4_000_000,
    maxQueue: 8,
    requestTimeoutMs: 30_000,
    ...overrides,
  };
}

/** Builds an app over a fresh fixture repository and waits until it is ready. */
export async function fixtureServer(
  models: FixtureModel[] = [{ name: "lesion" }],
  overrides: Partial<ServerConfig> = {},
): Promise<TinyUnetServer & { root: string; [Symbol.asyncDispose](): Promise<void> }> {
  const root = await makeRepo(models);
  const server = createApp(testConfig(root, overrides));
  await server.ready;
  return {
    ...server,
    root,
    async [Symbol.asyncDispose]() {
      await server.registry.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}
