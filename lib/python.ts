/**
 * The Python that tools, the benchmark and the tests run: the first of `$TINYUNET_PYTHON`,
 * `python3` on PATH and `/usr/bin/python3` that can import the modules asked for.
 *
 * @module
 */

/** Where Python is looked for, in order. */
export function pythonCandidates(): string[] {
  return [Deno.env.get("TINYUNET_PYTHON"), "python3", "/usr/bin/python3"].filter(
    (p): p is string => !!p,
  );
}

/**
 * The first candidate that imports every module in `modules` (e.g. `["torch", "onnx"]`).
 * @returns its command, or null when none does
 */
export function findPython(modules: string[]): string | null {
  for (const py of pythonCandidates()) {
    try {
      const out = new Deno.Command(py, {
        args: ["-c", `import ${modules.join(", ")}`],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (out.success) return py;
    } catch { /* not installed */ }
  }
  return null;
}
