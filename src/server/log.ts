/**
 * Structured logging: one JSON object per line on stdout (stderr for errors), so log
 * shippers can parse it. `TINYUNET_LOG=silent` turns it off (tests).
 *
 * @module
 */

const silent = () => (globalThis.Deno?.env.get("TINYUNET_LOG") ?? "") === "silent";

/** Writes one log line. */
export function log(
  level: "info" | "warn" | "error",
  msg: string,
  fields: Record<string, unknown> = {},
): void {
  if (silent()) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}
