/**
 * A free loopback TCP port for a server started later (a child process, Orthanc, the bench's
 * servers), drawn below the kernel's ephemeral range. A port the kernel picked for `port: 0`
 * comes from that range, so it can be handed out again to any outgoing connection or other
 * `port: 0` listener before a slow child binds it (the arm64 emulated server takes minutes:
 * CI failed with AddrInUse); ports outside it are only taken by choice. Ports handed out by
 * this process are not handed out again.
 *
 * @module
 */

/** Linux's default ephemeral range starts here; read from /proc where it can be. */
const DEFAULT_EPHEMERAL_START = 32_768;
const LOWEST = 10_000;
const given = new Set<number>();

/**
 * A loopback port nothing listens on (just now), not given out before by this process.
 * @throws {Error} when no free port is found
 */
export function freePort(): number {
  const top = ephemeralStart() - 1;
  const bottom = Math.min(LOWEST, top - 1000);
  for (let tries = 0; tries < 500; tries++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if (given.has(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      given.add(port);
      return port;
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    }
  }
  throw new Error(`no free loopback port in ${bottom}-${top}`);
}

/** The first port of the kernel's ephemeral range (the default where it cannot be read). */
function ephemeralStart(): number {
  try {
    const text = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range");
    const first = Number(text.trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 2048 ? first : DEFAULT_EPHEMERAL_START;
  } catch {
    return DEFAULT_EPHEMERAL_START;
  }
}
