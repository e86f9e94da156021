/**
 * Argument helpers shared by the Deno command-line tools (`deno task quantize`,
 * `deno task evaluate`): one error type for bad arguments, and the parsers they share.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Thrown for bad arguments (the message says which); tools exit 2 with their usage text. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * `node:util` parseArgs in strict mode (a leading `--`, as `deno task x -- …` passes it, is
 * dropped), its errors turned into {@link UsageError}.
 */
export function parseStrict<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({
      args: argv[0] === "--" ? argv.slice(1) : argv,
      options,
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * A `--name` value that must be a whole number ≥ 1.
 * @returns the number, or undefined when the option was not given
 * @throws {UsageError} for anything else
 */
export function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--${name} must be a whole number ≥ 1, got "${value}"`);
  }
  return n;
}

/**
 * Runs a command-line tool the way every `deno task` tool here behaves: `parse` the
 * arguments (a {@link UsageError} prints it with `usage` and exits 2; `null` — help asked
 * for — prints `usage` and exits 0), then `run`, whose result is printed as JSON on stdout;
 * any failure is printed as `name: message` and exits 1. Progress goes to stderr.
 */
export async function runTool<A>(
  name: string,
  usage: string,
  parse: (argv: string[]) => A | null,
  run: (args: A) => Promise<unknown>,
): Promise<void> {
  let args: A | null;
  try {
    args = parse(Deno.args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${name}: ${err.message}\n\n${usage}`);
    Deno.exit(2);
  }
  if (args === null) {
    console.log(usage);
    Deno.exit(0);
  }
  try {
    console.log(JSON.stringify(await run(args), null, 2));
  } catch (err) {
    console.error(`${name}: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
