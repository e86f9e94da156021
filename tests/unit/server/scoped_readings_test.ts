/**
 * Under the deployed command's permissions (the container's entrypoint: scoped `--allow-write`,
 * `--allow-run=deno`; Deno lets only `--allow-all` read /proc/self), the memory keeper still
 * reads the RSS it trims by, the connection front the open-files limit it sizes its cap from,
 * and `/metrics` the page faults and max fds — each was null there before (the keeper never
 * trimmed: 3 s after c=8 the deployed server held ~60 MiB more than `deno task serve`'s).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { deployedArgs } from "../../../lib/serve_command.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

Deno.test({
  name:
    "the deployed command's permissions: RSS, open-files limit, page faults, max and open fds read",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "tinyunet-scoped-" });
    try {
      const args = deployedArgs(state);
      const flags = args.slice(args.indexOf("run") + 1, args.indexOf("main.ts"));
      assert.ok(!flags.includes("--allow-all") && !flags.includes("-A"), flags.join(" "));
      const deno = Deno.execPath();
      const command = [deno, "run", ...flags, "tests/fixtures/memory/scoped_readings.ts"]
        .map((a) => `'${a}'`).join(" ");
      // soft and hard: Deno raises its soft limit to the hard one at start
      const { code, stdout, stderr } = await new Deno.Command("sh", {
        args: ["-c", `ulimit -n 1000 && exec ${command}`],
        cwd: ROOT,
        env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
      }).output();
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      const read = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
      assert.ok(read.rssMiB > 10 && read.rssMiB < 2000, `rss ${read.rssMiB}`);
      assert.equal(read.openFilesLimit, 1000);
      assert.equal(read.maxFds, 1000);
      assert.ok(read.minorFaults > 0, `faults ${read.minorFaults}`);
      // stdin, stdout, stderr at least; far below the limit
      assert.ok(read.openFds >= 3 && read.openFds < 200, `open fds ${read.openFds}`);
      assert.equal(read.openFdsAfter - read.openFds, 5, "five files opened");
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});
