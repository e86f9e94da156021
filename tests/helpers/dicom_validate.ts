/**
 * Independent checks of DICOM files the server writes: dicom3tools' `dciodvfy` (IOD
 * conformance; Debian `dicom3tools`), dcmtk's `dcmdump` and pydicom (Debian
 * `python3-pydicom`) reading values back.
 *
 * @module
 */
import { join } from "node:path";

async function withFile<T>(bytes: Uint8Array, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-validate-" });
  try {
    const path = join(dir, "file.dcm");
    await Deno.writeFile(path, bytes);
    return await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function output(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

/**
 * `dciodvfy`'s report on a file: its Error lines (and Abort lines: the file was not read),
 * its Warning lines and the IOD it checked against. A report that names no IOD counts as
 * an error, so a file dciodvfy could not read never passes as one with no Error.
 */
export function dciodvfy(
  bytes: Uint8Array,
): Promise<{ errors: string[]; warnings: string[]; iod?: string }> {
  return withFile(bytes, async (path) => {
    const lines = (await output("dciodvfy", [path])).split("\n");
    const iod = lines.find((l) => /^[A-Za-z][A-Za-z0-9]*$/.test(l.trim()))?.trim();
    const errors = lines.filter((l) => l.startsWith("Error") || l.startsWith("Abort"));
    if (!iod) errors.push("dciodvfy named no Information Object Definition");
    return { errors, warnings: lines.filter((l) => l.startsWith("Warning")), iod };
  });
}

/** One element's value as dcmdump prints it, converted to UTF-8 (`+U8`). */
export function dcmdumpValue(bytes: Uint8Array, keyword: string): Promise<string | undefined> {
  return withFile(bytes, async (path) => {
    const text = await output("dcmdump", ["+U8", "+P", keyword, path]);
    const m = /\[(.*)\]/.exec(text);
    return m?.[1];
  });
}

/** Values read with pydicom (`str()` of each keyword; "" when absent), for several files in one run. */
export async function pydicomValues(
  files: Uint8Array[],
  keywords: string[],
): Promise<Record<string, string>[]> {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-pydicom-" });
  try {
    const paths = await Promise.all(files.map(async (bytes, i) => {
      const path = join(dir, `${i}.dcm`);
      await Deno.writeFile(path, bytes);
      return path;
    }));
    const script = [
      "import json, sys, pydicom",
      "keys = sys.argv[1].split(',')",
      "print(json.dumps([{k: str(pydicom.dcmread(p).get(k, '')) for k in keys} for p in sys.argv[2:]]))",
    ].join("\n");
    const text = await output("/usr/bin/python3", ["-c", script, keywords.join(","), ...paths]);
    try {
      return JSON.parse(text.trim().split("\n").at(-1) ?? "[]");
    } catch {
      throw new Error(`pydicom failed: ${text}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
