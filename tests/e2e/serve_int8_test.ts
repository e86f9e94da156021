import assert from "node:assert/strict";
import { join } from "node:path";
import { createApp } from "../../mod.ts";
import { ISIC_SAMPLE, readSample } from "../helpers/images.ts";
import { makeRepo, testConfig } from "../helpers/model_repo.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModelVersion } from "../../tools/quantize/quantize.ts";

/** A repository with one quantised model ("lesion") and one without int8 ("plain"). */
async function quantizedRepo(): Promise<string> {
  const root = await makeRepo([{ name: "lesion", net: { width: 4, depth: 2 } }, {
    name: "plain",
    net: { width: 2, depth: 1 },
  }]);
  const calib = await Deno.makeTempDir();
  await Deno.copyFile(ISIC_SAMPLE, join(calib, "isic.png"));
  await quantizeModelVersion({
    ...DEFAULT_QUANTIZE_OPTIONS,
    modelDir: join(root, "lesion", "1"),
    calibFolder: calib,
    threads: 1,
  });
  await Deno.remove(calib, { recursive: true });
  return root;
}

async function segment(
  app: { fetch: (r: Request) => Response | Promise<Response> },
  path: string,
  body: Uint8Array,
) {
  return await app.fetch(
    new Request(`http://test${path}`, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers: { "content-type": "image/png" },
    }),
  );
}

for (const engine of ["native", "wasm"] as const) {
  Deno.test(`server answers ?precision=int8 with the int8 model on the ${engine} engine`, async () => {
    const root = await quantizedRepo();
    const server = createApp(testConfig(root, { engine }));
    try {
      await server.ready;
      const png = await readSample(ISIC_SAMPLE);
      const int8 = await segment(
        server.app,
        "/v1/models/lesion/segment?precision=int8&format=json",
        png,
      );
      assert.equal(int8.status, 200);
      const j8 = await int8.json();
      assert.equal(j8.precision, "int8");
      assert.equal(j8.engine, engine);
      const fp32 = await (await segment(server.app, "/v1/models/lesion/segment?format=json", png))
        .json();
      assert.equal(fp32.precision, "fp32");
      // same image, same model: the foreground areas agree closely
      const area = (j: { pixel_area: number; width: number; height: number }) =>
        j.pixel_area / (j.width * j.height);
      assert.ok(Math.abs(area(j8) - area(fp32)) < 0.03, `areas ${area(j8)} vs ${area(fp32)}`);
      const missing = await segment(server.app, "/v1/models/plain/segment?precision=int8", png);
      assert.equal(missing.status, 404);
      assert.match((await missing.json()).error, /no int8 model/);
    } finally {
      await server.registry.close();
      await Deno.remove(root, { recursive: true });
    }
  });
}
