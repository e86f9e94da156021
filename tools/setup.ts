/**
 * `deno task setup`: the operating-system packages the project needs besides Deno — Python
 * with PyTorch (the distillation pipeline and its tests), Chromium (the browser test and
 * `tools/screenshot.ts`), systemd (`systemd-analyze verify` of the shipped unit), the DICOM
 * tools the DICOM tests make compressed fixtures with and check SEGs with (dcmtk, OpenJPEG,
 * dicom3tools, pydicom), and Orthanc with its DICOMweb plugin (the DICOM node's PACS). On a
 * Debian machine where we are root, missing packages are installed with apt-get (set
 * `TINYUNET_NO_APT=1` to forbid); otherwise the exact command to run is printed and the
 * task fails. `deno task test` runs it first, so the README's two commands work on a fresh
 * machine; `.ci/run` runs it before the check.
 *
 * @module
 */

/** Debian packages for the Python distillation pipeline and its tests. */
export const PYTHON_PACKAGES = [
  "python3-torch",
  "python3-onnx",
  "python3-pytest",
  "python3-pil",
  "python3-scipy",
  "python3-numpy",
];
/** Chromium for the browser test (driven by playwright-core; no browser download). */
export const BROWSER_PACKAGES = ["chromium"];
/** `systemd-analyze verify` checks the shipped systemd unit. */
export const SYSTEMD_PACKAGES = ["systemd"];
/**
 * DICOM fixtures and checks: dcmtk (`dcmcjpeg`, `dcmcjpls`, `dcmcrle`, `dcmdump`),
 * OpenJPEG (`opj_compress`), dicom3tools (`dciodvfy`), pydicom.
 */
export const DICOM_PACKAGES = ["dcmtk", "libopenjp2-tools", "dicom3tools", "python3-pydicom"];
/** The DICOM node's e2e tests and bench part: a real Orthanc PACS (with DICOMweb); dcmtk (`echoscu`, `storescu`) as the modality. */
export const DICOM_NODE_PACKAGES = ["dcmtk", "orthanc", "orthanc-dicomweb"];

function hasOrthancDicomweb(): boolean {
  try {
    return [...Deno.readDirSync("/usr/share/orthanc/plugins")].some((e) =>
      e.name.startsWith("libOrthancDicomWeb.so")
    );
  } catch {
    return false;
  }
}

function ok(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** Packages missing on this machine. */
export function missingPackages(): string[] {
  const missing: string[] = [];
  if (!ok("/usr/bin/python3", ["-c", "import torch, onnx, pytest, PIL, scipy, numpy"])) {
    missing.push(...PYTHON_PACKAGES);
  }
  if (!ok("/usr/bin/chromium", ["--version"])) missing.push(...BROWSER_PACKAGES);
  if (!ok("systemd-analyze", ["--version"])) missing.push(...SYSTEMD_PACKAGES);
  const dicomTools =
    ok("sh", ["-c", "command -v dcmcjpls && command -v opj_compress && command -v dciodvfy"]) &&
    ok("/usr/bin/python3", ["-c", "import pydicom"]);
  if (!dicomTools) missing.push(...DICOM_PACKAGES);
  if (!ok("storescu", ["--version"]) || !ok("Orthanc", ["--version"]) || !hasOrthancDicomweb()) {
    missing.push(...DICOM_NODE_PACKAGES.filter((p) => !missing.includes(p)));
  }
  return missing;
}

/** Installs missing packages where allowed; returns what is still missing. */
export function ensureSystemPackages(): string[] {
  const missing = missingPackages();
  if (missing.length === 0) return [];
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const root = Deno.uid?.() === 0;
  if (!root || Deno.env.get("TINYUNET_NO_APT") || !ok("apt-get", ["--version"])) {
    console.error(
      `missing system packages: ${missing.join(" ")}\ninstall them with: sudo sh -c '${cmd}'`,
    );
    return missing;
  }
  console.log(`installing missing system packages: ${missing.join(" ")}`);
  new Deno.Command("sh", {
    args: ["-c", `${cmd} >/tmp/tinyunet-apt.log 2>&1`],
    stdout: "inherit",
    stderr: "inherit",
  }).outputSync();
  return missingPackages();
}

if (import.meta.main) {
  const still = ensureSystemPackages();
  if (still.length) {
    console.error(`setup: still missing: ${still.join(" ")}`);
    Deno.exit(1);
  }
  console.log("setup: system packages present");
}
