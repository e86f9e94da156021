/**
 * SIGTERM under load loses nothing: wrk (Debian `wrk`) posts a sample PNG on 8 keep-alive
 * connections; SIGTERM arrives after 1.5 s. Every request must get an HTTP answer (200,
 * or 503 `shutting_down` with `Connection: close` once draining): wrk must report no
 * connect, read, write or timeout errors. `TINYUNET_SHUTDOWN_DELAY_MS` keeps refusing with
 * 503 for a while after the drain (as behind a load balancer), long enough for wrk to end.
 * About 10 s.
 */
import assert from "node:assert/strict";
import { wrkPostScript } from "../helpers/wrk.ts";
import { spawnShippedServer, waitReady } from "../helpers/server_process.ts";

Deno.test({
  name: "SIGTERM under wrk -c8: every request answered, 0 socket errors, exit 0",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = spawnShippedServer({
      TINYUNET_SHUTDOWN_DELAY_MS: "6000",
    });
    const { base } = server;
    await waitReady(base);
    const dir = await Deno.makeTempDir();
    const script = await wrkPostScript(dir);
    const wrk = new Deno.Command("wrk", {
      args: ["-t2", "-c8", "-d5s", "--timeout", "10s", "-s", script, `${base}/v1/segment`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await new Promise((r) => setTimeout(r, 1500));
    server.kill("SIGTERM");
    const out = await wrk.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    console.log(text);
    assert.ok(out.success, text);
    const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
      text,
    );
    assert.equal(errors, null, `wrk saw socket errors: ${errors?.[0]}`);
    const sent = Number(/(\d+) requests in/.exec(text)?.[1]);
    const refused = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
    assert.ok(refused > 0, "requests after SIGTERM were refused with 503");
    assert.ok(sent - refused > 0, "requests before SIGTERM were served");
    assert.equal((await server.status(30_000)).code, 0);
    const lines = server.json();
    assert.ok(lines.some((l) => l.msg === "stopped"));
    await Deno.remove(dir, { recursive: true });
  },
});
