/**
 * zod pieces for settings read from environment variables: one variable (blank counts as
 * unset), a number with a floor, a word from a list. Used by the server's settings
 * (`src/config.ts`) and the engines' (`src/engines/settings.ts`, read in worker isolates too).
 *
 * @module
 */
import { z } from "zod";

// One environment variable: a string or nothing; blank counts as nothing.
export const variable = z.string().optional().transform((v) => v?.trim() || undefined);

/** An integer-valued variable (a number ≥ `min`), `fallback` when unset. */
export const int = <F extends number | undefined>(fallback: F, min = 1) =>
  variable.transform((raw, ctx): number | F => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) {
      ctx.addIssue({ code: "custom", message: `${raw} is not a number ≥ ${min}` });
      return z.NEVER;
    }
    return value;
  });

/**
 * Parses `env` with a schema of variables.
 * @throws {Error} naming each variable with a bad value
 */
export function parseVariables<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  return parsed.data;
}

/** A variable with a few allowed words (any case), `fallback` when unset. */
export const oneOf = <const T extends string>(allowed: readonly T[], fallback: T) =>
  variable.transform((raw, ctx) => {
    const v = raw?.toLowerCase() ?? fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      ctx.addIssue({ code: "custom", message: `${raw}: expected ${allowed.join(", ")}` });
      return z.NEVER;
    }
    return v as T;
  });
