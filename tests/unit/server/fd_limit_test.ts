import assert from "node:assert/strict";
import { openFilesLimit } from "../../../src/server/fd_limit.ts";
import { fdConnectionLimit } from "../../../src/server/connections/front.ts";

Deno.test({
  name:
    "openFilesLimit reads the soft open-files limit a child process inherits; the front sizes its cap from it",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const out = await new Deno.Command("sh", { args: ["-c", "ulimit -Sn"], stdout: "piped" })
      .output();
    const limit = openFilesLimit();
    assert.equal(limit, Number(new TextDecoder().decode(out.stdout).trim()));
    assert.equal(fdConnectionLimit(), Math.max(16, Math.floor((limit! - 64) / 3)));
  },
});
