/**
 * Runs a script in a Deno process of its own (for state that is the process's: a native
 * library's threads and counts) and reads the JSON it printed on its `TAG <json>` line.
 */
import assert from "node:assert/strict";

/**
 * `deno run --allow-all --no-check script`; asserts that it succeeded and printed
 * `TAG <json>` on a line of its own, and returns that JSON parsed (a minute at most).
 */
export async function scriptLine<T>(script: URL, tag: string): Promise<T> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-check", script.pathname],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, text.slice(-2000));
  const line = new RegExp(`^${tag} (.*)$`, "m").exec(text);
  assert.ok(line, text.slice(-2000));
  return JSON.parse(line[1]) as T;
}
