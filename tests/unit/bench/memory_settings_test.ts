import assert from "node:assert/strict";
import { withoutV8Flag } from "../../../bench/memory_settings.ts";

Deno.test("memory settings: one V8 flag is left out by name, the others and the rest of the command kept", () => {
  const args = ["run", "--allow-all", "--v8-flags=--a-flag,--max-semi-space-size=4", "main.ts"];
  assert.deepEqual(withoutV8Flag(args, "--max-semi-space-size"), [
    "run",
    "--allow-all",
    "--v8-flags=--a-flag",
    "main.ts",
  ]);
  assert.deepEqual(withoutV8Flag(args, "--not-there"), args);
  assert.deepEqual(
    withoutV8Flag(
      ["run", "--v8-flags=--max-semi-space-size=4", "main.ts"],
      "--max-semi-space-size",
    ),
    ["run", "main.ts"],
    "no empty --v8-flags= is left",
  );
});
