import assert from "node:assert/strict";
import { shippedModelUrl, shippedVersion } from "../../../lib/shipped_models.ts";

Deno.test("shippedVersion finds the one numbered folder and refuses zero or two", () => {
  const root = Deno.makeTempDirSync({ prefix: "tinyunet-shipped-" });
  try {
    const url = new URL(`file://${root}/`);
    Deno.mkdirSync(`${root}/lesion/samples`, { recursive: true });
    assert.throws(() => shippedVersion("lesion", url), /found \[\]/);
    Deno.mkdirSync(`${root}/lesion/3`);
    assert.equal(shippedVersion("lesion", url), "3");
    assert.equal(shippedModelUrl("lesion", url).pathname, `${root}/lesion/3/`);
    Deno.mkdirSync(`${root}/lesion/4`);
    assert.throws(() => shippedVersion("lesion", url), /expected one shipped version/);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("every model in the repository ships exactly one version", () => {
  for (const e of Deno.readDirSync(new URL("../../../models/", import.meta.url))) {
    if (e.isDirectory) assert.match(shippedVersion(e.name), /^\d+$/);
  }
});
